//! Private keys at rest: every seed in `signing_keys` is sealed with the master key,
//! seeds written in plain text by earlier versions are sealed at the next start, and
//! a missing or wrong master key stops the admin at start with a sentence.

mod common;

use edgeflag_admin::{AppState, Config};
use edgeflag_admin_core::masterkey::{KeyText, Keyring};
use edgeflag_engine::envelope::SigningKey;
use sqlx::Row;

fn config(url: &str, key: Option<&str>) -> Config {
    Config {
        database_url: url.to_string(),
        master_key: key.map(KeyText::new),
        ..Config::default()
    }
}

#[tokio::test]
async fn seeds_are_sealed_and_the_wrong_master_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let url = common::fresh_url(&dir).await;
    let key = Keyring::generate();
    let kek = Keyring::parse(&key).unwrap().current_id().to_string();
    let state = AppState::from_config(config(&url, Some(&key)))
        .await
        .unwrap();
    assert!(
        !dir.path().join("admin.db.master-key").exists(),
        "a configured key writes no file"
    );
    // A plain seed as migration 0005 leaves it: the admin seals it at its next start.
    let plain = SigningKey::from_seed("ik_legacy", [9; 32]);
    sqlx::query("INSERT INTO signing_keys (kid, purpose, seed, created_at, retired_at) VALUES ('ik_legacy', 'instance', $1, 1, 2)")
        .bind(hex::encode([9u8; 32]))
        .execute(&state.pool)
        .await
        .unwrap();
    state.pool.close().await;
    let state = AppState::from_config(config(&url, Some(&key)))
        .await
        .unwrap();
    let rows = sqlx::query("SELECT kid, purpose, seed, kek_id, public_key FROM signing_keys")
        .fetch_all(&state.pool)
        .await
        .unwrap();
    let purposes: Vec<String> = rows.iter().map(|r| r.get("purpose")).collect();
    assert!(purposes.contains(&"token".to_string()) && purposes.contains(&"instance".to_string()));
    for row in &rows {
        let seed: String = row.get("seed");
        assert_eq!(
            row.get::<Option<String>, _>("kek_id").as_deref(),
            Some(kek.as_str())
        );
        assert!(hex::decode(&seed).is_err(), "sealed, not hex: {seed}");
        assert_ne!(seed, hex::encode([9u8; 32]));
    }
    let legacy = rows
        .iter()
        .find(|r| r.get::<String, _>("kid") == "ik_legacy")
        .unwrap();
    assert_eq!(
        legacy.get::<Option<String>, _>("public_key").unwrap(),
        plain.verifying_key().to_jwk().x
    );
    state.pool.close().await;
    // Another master key: a clear error naming the key that sealed them.
    let Err(wrong) = AppState::from_config(config(&url, Some(&Keyring::generate()))).await else {
        panic!("a wrong master key must be refused");
    };
    let message = format!("{wrong:#}");
    assert!(
        message.contains("master key") && message.contains(&kek),
        "{message}"
    );
    let Err(bad) = AppState::from_config(config(&url, Some("hunter2"))).await else {
        panic!("a malformed master key must be refused");
    };
    assert!(
        format!("{bad:#}").contains("EDGEFLAG_MASTER_KEY"),
        "{bad:#}"
    );
}
