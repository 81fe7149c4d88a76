//! Passwords: how they are hashed (argon2id), checked, and which ones are refused.
//!
//! Hashes are PHC strings (`$argon2id$v=19$m=19456,t=2,p=1$…`) from the `argon2` crate's
//! defaults, the parameters OWASP's password storage guidance names for argon2id (19 MiB,
//! two passes, one lane); the string carries them, so raising them later keeps old hashes
//! verifiable. Hashing costs tens of milliseconds of CPU by design, so it runs on the
//! blocking pool, never on the async workers.
//!
//! The rules follow NIST SP 800-63B: a minimum length (configurable, 12 by default) and
//! a maximum of 128 characters, any characters (no composition rules), and a refusal of
//! passwords that are common or derived from the account or the product. A check against
//! breached-password corpora (such as Have I Been Pwned's) needs the network or a
//! multi-gigabyte list; the admin does neither, so that check is not made. The embedded
//! list below holds only common choices long enough to pass the length rule.

use std::sync::OnceLock;

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier, password_hash::SaltString};

use crate::error::Error;

/// The longest password accepted, in characters.
pub const MAX_LENGTH: usize = 128;

/// Common passwords of 12 or more characters, lower-case: what people pick when told
/// "at least 12". Compared case-insensitively with the whole password.
const COMMON: &[&str] = &[
    "123456789012",
    "1234567890123",
    "12345678901234",
    "123456789012345",
    "1234567890abc",
    "1q2w3e4r5t6y",
    "1qaz2wsx3edc",
    "1qaz2wsx3edc4rfv",
    "abcdefghijkl",
    "abc123abc123",
    "administrator",
    "administrator1",
    "changeme1234",
    "correcthorsebatterystaple",
    "iloveyou1234",
    "letmein12345",
    "passw0rd1234",
    "password1234",
    "password12345",
    "password123456",
    "password!123",
    "passwordpassword",
    "qazwsxedcrfv",
    "qwerty123456",
    "qwertyuiop12",
    "qwertyuiopasdf",
    "qwertyuiopasdfgh",
    "superman1234",
    "trustno11234",
    "welcome12345",
    "welcome123456",
    "zaq12wsxcde3",
];

/// Refuses a password that breaks the rules; `context` holds words of the account
/// (its email address, its name) that the password must not be built from. The error
/// points at `pointer` and says what to change.
pub fn check(
    password: &str,
    min_length: usize,
    context: &[&str],
    pointer: &str,
) -> Result<(), Error> {
    let bad = |message: String| Err(Error::invalid(pointer, message));
    let length = password.chars().count();
    if length < min_length {
        return bad(format!(
            "use at least {min_length} characters (this has {length}); a few words with spaces work well"
        ));
    }
    if length > MAX_LENGTH {
        return bad(format!("use at most {MAX_LENGTH} characters"));
    }
    let lower = password.to_lowercase();
    if COMMON.contains(&lower.as_str()) || is_pattern(&lower) {
        return bad("this password is one of the most common; choose another".to_string());
    }
    let words = context
        .iter()
        .flat_map(|c| c.split(|ch: char| !ch.is_alphanumeric()))
        .chain(["edgeflag"])
        .map(str::to_lowercase)
        .filter(|w| w.chars().count() >= 4);
    for word in words {
        let rest = lower.replace(&word, "");
        if rest.chars().count() < min_length / 2 {
            return bad(format!(
                "this password is mostly `{word}`, which is part of the account or the product; choose another"
            ));
        }
    }
    Ok(())
}

/// One character repeated, or a run of consecutive characters (`aaaa…`, `abcd…`, `9876…`).
fn is_pattern(password: &str) -> bool {
    let chars: Vec<u32> = password.chars().map(u32::from).collect();
    let steps: Vec<i64> = chars
        .windows(2)
        .map(|w| i64::from(w[1]) - i64::from(w[0]))
        .collect();
    steps
        .first()
        .is_some_and(|first| (-1..=1).contains(first) && steps.iter().all(|s| s == first))
}

/// The argon2id PHC string of `password`, computed on the blocking pool.
pub async fn hash(password: &str) -> Result<String, Error> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || hash_now(&password))
        .await
        .map_err(Error::internal)?
}

fn hash_now(password: &str) -> Result<String, Error> {
    let salt = SaltString::encode_b64(&crate::db::random_bytes::<16>()).map_err(Error::internal)?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(Error::internal)
}

/// Whether `password` matches `stored`; `None` compares against a fixed decoy hash, so a
/// sign-in for an unknown address costs the same time as one for a known address and
/// tells an attacker nothing. Never true for `None`.
pub async fn verify(stored: Option<String>, password: &str) -> Result<bool, Error> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        let real = stored.is_some();
        let hash = match stored {
            Some(h) => h,
            None => decoy()?.to_string(),
        };
        let parsed = PasswordHash::new(&hash).map_err(Error::internal)?;
        let matches = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(real && matches)
    })
    .await
    .map_err(Error::internal)?
}

/// A hash of a random password with the same parameters as real ones, made once.
fn decoy() -> Result<&'static str, Error> {
    static DECOY: OnceLock<String> = OnceLock::new();
    if let Some(h) = DECOY.get() {
        return Ok(h);
    }
    let hash = hash_now(&crate::secret::new_secret("decoy"))?;
    Ok(DECOY.get_or_init(|| hash))
}

/// A password for a first owner printed once by the CLI: 20 letters and digits in
/// groups of four (about 103 bits), easy to type from a terminal.
pub fn generate() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    let bytes = crate::db::random_bytes::<20>();
    let chars: Vec<char> = bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(password: &str) -> String {
        match check(
            password,
            12,
            &["ada.lovelace@example.com", "Ada Lovelace"],
            "/password",
        ) {
            Err(Error::Invalid { path, message }) => {
                assert_eq!(path, "/password");
                message
            }
            other => panic!("{password:?} was not refused: {other:?}"),
        }
    }

    #[test]
    fn short_long_common_and_personal_passwords_are_refused() {
        assert!(refused("short pw").contains("at least 12 characters (this has 8)"));
        assert!(refused(&"x".repeat(129)).contains("at most 128"));
        assert!(refused("Password1234").contains("most common"));
        assert!(refused("aaaaaaaaaaaaaa").contains("most common"));
        assert!(refused("abcdefghijklmnop").contains("most common"));
        assert!(refused("zyxwvutsrqpo").contains("most common"));
        assert!(refused("lovelace1234!").contains("`lovelace`"));
        assert!(refused("EdgeFlag2026!").contains("`edgeflag`"));
    }

    #[test]
    fn long_passphrases_of_any_characters_pass() {
        for ok in [
            "correct horse battery",
            "Ünïcödé ist erlaubt 🙂",
            "ada likes tea a lot",
            "tr0ub4dor&3-x",
        ] {
            assert!(
                check(ok, 12, &["ada@example.com"], "/password").is_ok(),
                "{ok}"
            );
        }
        // The minimum is the configured one.
        assert!(check("fifteen chars!!", 16, &[], "/p").is_err());
    }

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify_only_the_right_password() {
        let hash = hash("correct horse battery").await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(
            verify(Some(hash.clone()), "correct horse battery")
                .await
                .unwrap()
        );
        assert!(!verify(Some(hash), "correct horse battery!").await.unwrap());
        // The decoy never matches, whatever is typed.
        assert!(!verify(None, "correct horse battery").await.unwrap());
    }

    #[test]
    fn generated_passwords_pass_the_rules() {
        let p = generate();
        assert_eq!(p.len(), 24, "{p}");
        assert_eq!(p.matches('-').count(), 4);
        assert!(check(&p, 12, &[], "/password").is_ok());
        assert_ne!(p, generate());
    }
}
