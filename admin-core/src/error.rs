//! The one error of the domain. Its variants say what went wrong, not how a caller
//! should answer: the HTTP layer (`edgeflag-admin`'s `Error`) maps each to a status
//! in one place, and a CLI prints it.

/// Everything a domain operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The thing named does not exist (or belongs to another organization).
    #[error("{0}")]
    NotFound(String),
    /// The change conflicts with the current state, e.g. a key that already exists or
    /// a segment that a live flag still uses.
    #[error("{0}")]
    Conflict(String),
    /// The input is invalid; `path` is a JSON Pointer into it (`/rules/0/serve`).
    #[error("{message}")]
    Invalid { path: String, message: String },
    /// The actor's role does not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// The credentials given (an email and password, an invitation token) do not
    /// prove who the caller is. The message never says which part was wrong.
    #[error("{0}")]
    Unauthenticated(String),
    /// The database failed (a unique-constraint violation is a [`Error::Conflict`] instead).
    #[error("database error: {0}")]
    Database(sqlx::Error),
    /// The master key is missing, malformed, or not the one that sealed the private
    /// keys in the database (`masterkey`): an operator must fix the configuration.
    #[error("master key: {0}")]
    MasterKey(String),
    /// Something that should not happen, e.g. a stored document that does not parse.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The message of a unique-constraint violation.
pub const ALREADY_EXISTS: &str = "a resource with this key already exists";

impl Error {
    pub fn invalid(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            path: path.into(),
            message: message.into(),
        }
    }

    pub fn not_found(what: &str, key: &str) -> Self {
        Self::NotFound(format!("{what} `{key}` does not exist"))
    }

    pub fn internal(err: impl std::fmt::Display) -> Self {
        Self::Internal(err.to_string())
    }
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        if is_unique_violation(&err) {
            Self::Conflict(ALREADY_EXISTS.to_string())
        } else {
            Self::Database(err)
        }
    }
}

fn is_unique_violation(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => {
            db.is_unique_violation()
                || db.code().as_deref() == Some("23505")
                || db.message().contains("UNIQUE constraint failed")
        }
        _ => false,
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
