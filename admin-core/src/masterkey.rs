//! Envelope encryption of the private keys the database holds (`docs/admin-config.md`,
//! "Master key"). The seeds of signing keys are sealed with a key-encryption key, the
//! *master key*, that comes from the environment or a file and never enters the
//! database: a copy of the database alone cannot sign anything.
//!
//! A master key is 32 random bytes, written `efmk_<base64url>`; its id (`mk_…`, the
//! first bytes of a SHA-256 of the key) is stored beside each sealed seed, so a
//! [`Keyring`] can hold the current key and the previous ones while they are rotated.
//! Seeds are sealed with XChaCha20-Poly1305 (a random 24-byte nonce per seal), and
//! the associated data names the row (key id, purpose, organization), so a sealed seed
//! copied into another row does not open.

use base64ct::{Base64UrlUnpadded, Encoding};
use chacha20poly1305::{
    XChaCha20Poly1305, XNonce,
    aead::{Aead, KeyInit, Payload},
};
use sha2::{Digest, Sha256};

use std::path::{Path, PathBuf};

use crate::{
    db::{self, Backend},
    error::Error,
};

/// How a master key is written.
const PREFIX: &str = "efmk_";
const NONCE_LEN: usize = 24;

/// One key-encryption key. Its `Debug` shows only the id.
#[derive(Clone)]
struct MasterKey {
    id: String,
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterKey").field("id", &self.id).finish()
    }
}

impl MasterKey {
    fn from_bytes(bytes: &[u8; 32]) -> Self {
        let digest = Sha256::new()
            .chain_update(b"edgeflag master key id\0")
            .chain_update(bytes)
            .finalize();
        Self {
            id: format!("mk_{}", hex::encode(&digest[..8])),
            cipher: XChaCha20Poly1305::new(bytes.into()),
        }
    }

    fn parse(text: &str) -> Result<Self, Error> {
        let body = text.strip_prefix(PREFIX).ok_or_else(|| {
            Error::MasterKey(format!(
                "a master key starts with `{PREFIX}` (generate one with `edgeflag generate-master-key`); found `{}…`",
                text.chars().take(5).collect::<String>()
            ))
        })?;
        let bytes: [u8; 32] = Base64UrlUnpadded::decode_vec(body)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| {
                Error::MasterKey(format!(
                    "a master key is `{PREFIX}` and 32 bytes in unpadded base64url (43 characters)"
                ))
            })?;
        Ok(Self::from_bytes(&bytes))
    }
}

/// A sealed secret: the master key's id and `base64url(nonce ‖ ciphertext)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub kek_id: String,
    pub text: String,
}

/// The configured master keys: the first seals, every one opens.
#[derive(Debug, Clone)]
pub struct Keyring {
    keys: Vec<MasterKey>,
}

impl Keyring {
    /// Parses one or more master keys, separated by whitespace or commas; lines that
    /// start with `#` are comments. The first key is the current one.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let keys = text
            .lines()
            .filter(|line| !line.trim_start().starts_with('#'))
            .flat_map(|line| line.split(|c: char| c == ',' || c.is_whitespace()))
            .filter(|word| !word.is_empty())
            .map(MasterKey::parse)
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err(Error::MasterKey("the master key is empty".into()));
        }
        Ok(Self { keys })
    }

    /// A new random master key, in its written form.
    pub fn generate() -> String {
        format!(
            "{PREFIX}{}",
            Base64UrlUnpadded::encode_string(&db::random_bytes::<32>())
        )
    }

    /// A keyring of one new random key (tests and throwaway databases).
    pub fn ephemeral() -> Self {
        let bytes = db::random_bytes::<32>();
        Self {
            keys: vec![MasterKey::from_bytes(&bytes)],
        }
    }

    /// The id of the key that seals.
    pub fn current_id(&self) -> &str {
        self.keys.first().map_or("", |k| k.id.as_str())
    }

    /// The ids of every key, the current one first.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|k| k.id.as_str())
    }

    /// Seals `secret` with the current key; `aad` is bound to the result.
    pub fn seal(&self, secret: &[u8], aad: &[u8]) -> Result<Sealed, Error> {
        let key = self
            .keys
            .first()
            .ok_or_else(|| Error::MasterKey("no master key".into()))?;
        let nonce = db::random_bytes::<NONCE_LEN>();
        let ciphertext = key
            .cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: secret, aad })
            .map_err(|_| Error::MasterKey("sealing failed".into()))?;
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&ciphertext);
        Ok(Sealed {
            kek_id: key.id.clone(),
            text: Base64UrlUnpadded::encode_string(&bytes),
        })
    }

    /// Opens a sealed secret; fails when the key that sealed it is not in the ring, or
    /// when the text or `aad` was changed.
    pub fn open(&self, sealed: &Sealed, aad: &[u8]) -> Result<Vec<u8>, Error> {
        let key = self
            .keys
            .iter()
            .find(|k| k.id == sealed.kek_id)
            .ok_or_else(|| {
                Error::MasterKey(format!(
                    "a private key is sealed with master key `{}`, which is not configured (configured: {})",
                    sealed.kek_id,
                    self.ids().collect::<Vec<_>>().join(", ")
                ))
            })?;
        let bytes = Base64UrlUnpadded::decode_vec(&sealed.text)
            .map_err(|_| Error::MasterKey("a sealed private key is not base64url".into()))?;
        if bytes.len() < NONCE_LEN {
            return Err(Error::MasterKey("a sealed private key is truncated".into()));
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        key.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .map_err(|_| {
                Error::MasterKey(format!(
                    "a private key sealed with master key `{}` does not open: it was changed or moved to another row",
                    sealed.kek_id
                ))
            })
    }
}

/// The text of `EDGEFLAG_MASTER_KEY`, kept out of `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyText(String);

impl KeyText {
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for KeyText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyText(***)")
    }
}

/// Where the master key comes from, in the order [`resolve`] tries them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `EDGEFLAG_MASTER_KEY`: the key (or a ring of keys) itself.
    Value,
    /// `EDGEFLAG_MASTER_KEY_FILE`: a file holding it.
    File(PathBuf),
    /// Neither is set and the database is a SQLite file: `<database>.master-key` next
    /// to it, generated on first start (local and development use).
    Generated(PathBuf),
    /// An in-memory SQLite database: a key that lives as long as the process.
    Ephemeral,
}

/// The keyring for a database: from `value` (`EDGEFLAG_MASTER_KEY`), else the file
/// `file` (`EDGEFLAG_MASTER_KEY_FILE`), else, for a SQLite file, a key file next to
/// the database, created when missing. A PostgreSQL database needs one of the two
/// settings: its key must not live on the admin's disk by accident.
pub fn resolve(
    database_url: &str,
    value: Option<&str>,
    file: Option<&Path>,
) -> Result<(Keyring, Source), Error> {
    if let Some(value) = value.filter(|v| !v.trim().is_empty()) {
        let ring = Keyring::parse(value)
            .map_err(|e| Error::MasterKey(format!("EDGEFLAG_MASTER_KEY: {}", inner(e))))?;
        return Ok((ring, Source::Value));
    }
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::MasterKey(format!(
                "EDGEFLAG_MASTER_KEY_FILE names {}, which cannot be read: {e}",
                path.display()
            ))
        })?;
        let ring = Keyring::parse(&text)
            .map_err(|e| Error::MasterKey(format!("{}: {}", path.display(), inner(e))))?;
        return Ok((ring, Source::File(path.to_path_buf())));
    }
    match sqlite_path(database_url) {
        _ if Backend::of(database_url) == Backend::Postgres => Err(Error::MasterKey(
            "a PostgreSQL database needs EDGEFLAG_MASTER_KEY or EDGEFLAG_MASTER_KEY_FILE \
             (generate a key with `edgeflag generate-master-key`)"
                .into(),
        )),
        None => Ok((Keyring::ephemeral(), Source::Ephemeral)),
        Some(db) => {
            let path = PathBuf::from(format!("{}.master-key", db.display()));
            if !path.exists() {
                write_new_key(&path)?;
            }
            let (ring, _) = resolve(database_url, None, Some(&path))?;
            Ok((ring, Source::Generated(path)))
        }
    }
}

fn inner(e: Error) -> String {
    match e {
        Error::MasterKey(m) => m,
        other => other.to_string(),
    }
}

/// The file of a `sqlite://` URL, or `None` for an in-memory database.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.contains(":memory:")).then(|| PathBuf::from(path))
}

fn write_new_key(path: &Path) -> Result<(), Error> {
    use std::io::Write as _;
    let fail = |e: std::io::Error| {
        Error::MasterKey(format!(
            "cannot create the master key file {}: {e}",
            path.display()
        ))
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(fail)?;
    let text = format!(
        "# The Edgeflag admin's master key: it seals the private signing keys in the\n\
         # database next to this file. Keep it apart from database backups.\n{}\n",
        Keyring::generate()
    );
    file.write_all(text.as_bytes()).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens_with_the_row_bound() {
        let ring = Keyring::parse(&Keyring::generate()).unwrap();
        let sealed = ring.seal(b"seed", b"row-1").unwrap();
        assert_eq!(sealed.kek_id, ring.current_id());
        assert_eq!(ring.open(&sealed, b"row-1").unwrap(), b"seed");
        assert!(ring.open(&sealed, b"row-2").is_err(), "bound to its row");
        let other = Keyring::parse(&Keyring::generate()).unwrap();
        let err = other.open(&sealed, b"row-1").unwrap_err().to_string();
        assert!(err.contains(ring.current_id()), "{err}");
    }

    #[test]
    fn a_ring_opens_with_every_key_and_seals_with_the_first() {
        let (old, new) = (Keyring::generate(), Keyring::generate());
        let before = Keyring::parse(&old).unwrap();
        let sealed = before.seal(b"seed", b"").unwrap();
        let ring = Keyring::parse(&format!("# rotated\n{new}\n{old}\n")).unwrap();
        assert_eq!(ring.open(&sealed, b"").unwrap(), b"seed");
        assert_ne!(ring.current_id(), before.current_id());
        assert_eq!(ring.ids().count(), 2);
        assert_eq!(
            Keyring::parse(&format!("{new}, {old}"))
                .unwrap()
                .ids()
                .count(),
            2
        );
    }

    #[test]
    fn refuses_what_is_not_a_master_key() {
        for bad in [
            "",
            "# only a comment",
            "abc",
            "efmk_short",
            &"efmk_".repeat(2),
        ] {
            assert!(
                matches!(Keyring::parse(bad), Err(Error::MasterKey(_))),
                "{bad:?}"
            );
        }
        let key = Keyring::generate();
        assert_eq!(key.len(), PREFIX.len() + 43);
        let ring = Keyring::parse(&key).unwrap();
        assert!(!format!("{ring:?}").contains(&key[PREFIX.len()..]));
    }

    #[test]
    fn resolves_from_the_value_the_file_or_a_generated_file_next_to_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/admin.db?mode=rwc", dir.path().display());
        let key = Keyring::generate();
        let (ring, source) = resolve(&url, Some(&key), None).unwrap();
        assert_eq!(
            (ring.current_id(), source),
            (Keyring::parse(&key).unwrap().current_id(), Source::Value)
        );
        let file = dir.path().join("mk");
        std::fs::write(&file, format!("{key}\n")).unwrap();
        let (ring, _) = resolve(&url, None, Some(&file)).unwrap();
        assert_eq!(
            ring.current_id(),
            Keyring::parse(&key).unwrap().current_id()
        );
        let (first, source) = resolve(&url, None, None).unwrap();
        let generated = dir.path().join("admin.db.master-key");
        assert_eq!(source, Source::Generated(generated.clone()));
        let (again, _) = resolve(&url, None, None).unwrap();
        assert_eq!(
            first.current_id(),
            again.current_id(),
            "made once, then read"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&generated).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let missing = resolve(&url, None, Some(&dir.path().join("nope"))).unwrap_err();
        assert!(
            missing.to_string().contains("EDGEFLAG_MASTER_KEY_FILE"),
            "{missing}"
        );
        let bad = resolve(&url, Some("secret"), None).unwrap_err();
        assert!(bad.to_string().contains("EDGEFLAG_MASTER_KEY: "), "{bad}");
        let pg = resolve("postgres://localhost/x", None, None).unwrap_err();
        assert!(pg.to_string().contains("EDGEFLAG_MASTER_KEY_FILE"), "{pg}");
        assert_eq!(
            resolve("sqlite::memory:", None, None).unwrap().1,
            Source::Ephemeral
        );
    }
}
