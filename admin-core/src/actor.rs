//! Who acts: an [`Actor`] is what every domain operation that changes something takes,
//! and what the audit log and webhooks name. The HTTP layer makes one from a token, an
//! API key or a person's session; a CLI command or a background job can make one
//! without HTTP.

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// A role in an organization, weakest first; each includes the ones before it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Editor,
    Admin,
    Owner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Editor => "editor",
            Self::Admin => "admin",
            Self::Owner => "owner",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "viewer" => Some(Self::Viewer),
            "editor" => Some(Self::Editor),
            "admin" => Some(Self::Admin),
            "owner" => Some(Self::Owner),
            _ => None,
        }
    }
}

/// What kind of identity an actor is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    /// An organization's API key (`efk_…`), directly or through an access token.
    ApiKey,
    /// A person signed in with a session (`users`, `sessions`).
    User,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ApiKey => "api-key",
            Self::User => "user",
        }
    }
}

/// Who performs an operation, within which organization and with which role.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The identity's id: the API key id `key_…` or the user id `usr_…`.
    pub id: String,
    /// A name people recognise: the API key's name, or a person's `Name <email>`.
    pub name: String,
    pub kind: ActorKind,
    pub org_id: String,
    pub role: Role,
    /// An instance operator: may do what spans organizations (create them, rotate the
    /// instance key), beyond its role in its own organization.
    pub operator: bool,
    /// The id of the request (or job) acting, recorded in the audit log and webhooks.
    pub request_id: Option<String>,
}

impl Actor {
    /// Refuses unless the actor holds at least `role`.
    pub fn require(&self, role: Role) -> Result<(), Error> {
        if self.role >= role {
            Ok(())
        } else {
            let who = match self.kind {
                ActorKind::ApiKey => "the key",
                ActorKind::User => "the user",
            };
            Err(Error::Forbidden(format!(
                "this needs the {} role; {who} `{}` is {}",
                role.as_str(),
                self.name,
                self.role.as_str()
            )))
        }
    }

    /// Refuses unless the actor is an instance operator.
    pub fn require_operator(&self, what: &str) -> Result<(), Error> {
        if self.operator {
            Ok(())
        } else {
            Err(Error::Forbidden(format!(
                "{what} is an instance operation: it needs an operator key (`edgeflag init` makes one); the key `{}` is not",
                self.name
            )))
        }
    }

    /// How the audit log, webhooks and the change feed name the actor: `key_… (name)`
    /// or `usr_… (Ada Lovelace <ada@example.com>)`.
    pub fn label(&self) -> String {
        format!("{} ({})", self.id, self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered() {
        assert!(
            Role::Owner > Role::Admin && Role::Admin > Role::Editor && Role::Editor > Role::Viewer
        );
        assert_eq!(Role::parse("editor"), Some(Role::Editor));
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn require_refuses_a_weaker_role_and_names_the_key() {
        let actor = Actor {
            id: "key_1".into(),
            name: "ci".into(),
            kind: ActorKind::ApiKey,
            org_id: "org_1".into(),
            role: Role::Editor,
            operator: false,
            request_id: None,
        };
        assert!(actor.require_operator("creating an organization").is_err());
        assert!(actor.require(Role::Viewer).is_ok() && actor.require(Role::Editor).is_ok());
        match actor.require(Role::Admin) {
            Err(Error::Forbidden(m)) => {
                assert_eq!(m, "this needs the admin role; the key `ci` is editor")
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(actor.label(), "key_1 (ci)");
        let person = Actor {
            id: "usr_1".into(),
            name: "Ada <ada@example.com>".into(),
            kind: ActorKind::User,
            ..actor
        };
        match person.require(Role::Admin) {
            Err(Error::Forbidden(m)) => assert_eq!(
                m,
                "this needs the admin role; the user `Ada <ada@example.com>` is editor"
            ),
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(person.label(), "usr_1 (Ada <ada@example.com>)");
    }
}
