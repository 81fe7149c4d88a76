//! Sealed records: what lets a fresh instance answer one flag without verifying and
//! compiling its whole environment (`docs/kv-layout.md`, "Sealed records").
//!
//! A Spin instance serves one request and is gone, so every request used to read the
//! environment's three signed documents, check their Ed25519 signatures (hashing every
//! byte of them) and compile every flag, for an answer that needs one flag. Once the
//! edge has verified a version itself (at publish, or on such a full reload), it
//! writes for each flag the smallest snapshot that evaluates that flag exactly as the
//! whole one does (the flag and every flag and segment it can reach), and a seal: the
//! version, the verified SDK-key index and a digest of the endorsements it was
//! verified under. Every record and the seal carry an HMAC-SHA-256 tag under a key
//! only the edge holds (derived from `EDGEFLAG_SEAL_SECRET` and the configured trusted
//! keys), bound to the environment, the version and the flag's key. A fresh instance
//! that finds the seal and the flag's record intact, of the version the pointer
//! names, under the endorsements stored now, answers from them; anything else (a
//! record missing, tampered, of another version, made before an endorsement changed or
//! under another secret or trusted-key set) sends the request down the full path,
//! which verifies the signed documents as before and writes the records again.
//! Nothing unauthenticated is trusted: a record is the edge's own statement about
//! documents it verified, and no one without the secret can make one.

use std::collections::{BTreeMap, BTreeSet};

use base64ct::{Base64UrlUnpadded, Encoding};
use edgeflag_engine::Snapshot;
use hmac::{Hmac, Mac};
use serde::{
    Deserialize, Deserializer, Serialize,
    de::{MapAccess, Visitor},
};
use serde_json::value::RawValue;
use sha2::Sha256;

use crate::{
    keys::KeyIndex,
    kv::{Kv, KvError},
    layout,
    state::EnvState,
    trusted::{StoredTrust, TrustedKeys},
};

type HmacSha256 = Hmac<Sha256>;

/// A flag whose record would be larger than this is not sealed: it takes the full path.
pub const MAX_RECORD_BYTES: usize = 256 * 1024;
/// At most this many bytes of records are written per version; flags beyond take the
/// full path. Records repeat the segments their flags share, so this bounds the
/// store's growth for environments with large segments.
pub const MAX_TOTAL_BYTES: usize = 16 * 1024 * 1024;

/// The key that tags sealed records. Derived from the configured secret and the
/// configured trusted keys, so a change of either voids every record made before.
#[derive(Clone)]
pub struct SealKey([u8; 32]);

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey(…)")
    }
}

impl SealKey {
    pub const MIN_SECRET_BYTES: usize = 32;

    /// `None` when the secret is shorter than [`Self::MIN_SECRET_BYTES`].
    pub fn derive(secret: &[u8], trusted: &TrustedKeys) -> Option<Self> {
        if secret.len() < Self::MIN_SECRET_BYTES {
            return None;
        }
        let jwks = serde_json::to_vec(&trusted.to_jwks()).ok()?;
        let mut mac = HmacSha256::new_from_slice(secret).ok()?;
        mac.update(b"edgeflag seal key v1\0");
        mac.update(&jwks);
        Some(Self(mac.finalize().into_bytes().into()))
    }

    fn mac(&self, parts: &[&[u8]]) -> HmacSha256 {
        // A 32-byte key is always accepted by HMAC.
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac
    }

    /// The tag (base64url) + `\n` + `body`.
    fn wrap(&self, parts: &[&[u8]], body: &[u8]) -> Vec<u8> {
        let mut all = parts.to_vec();
        all.push(body);
        let tag = Base64UrlUnpadded::encode_string(&self.mac(&all).finalize().into_bytes());
        let mut out = Vec::with_capacity(tag.len() + 1 + body.len());
        out.extend_from_slice(tag.as_bytes());
        out.push(b'\n');
        out.extend_from_slice(body);
        out
    }

    /// The body of a value made by [`Self::wrap`] with the same `parts`, if its tag
    /// verifies (in constant time).
    fn unwrap<'v>(&self, parts: &[&[u8]], value: &'v [u8]) -> Option<&'v [u8]> {
        let split = value.iter().position(|b| *b == b'\n')?;
        let (tag, body) = (value.get(..split)?, value.get(split + 1..)?);
        let tag = Base64UrlUnpadded::decode_vec(std::str::from_utf8(tag).ok()?).ok()?;
        let mut all = parts.to_vec();
        all.push(body);
        self.mac(&all).verify_slice(&tag).ok()?;
        Some(body)
    }
}

/// What a seal states: this version of this environment was verified, under these
/// endorsements, with this key index; these flags have records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Seal {
    environment: String,
    version: u64,
    /// [`StoredTrust::digest`] when the version was verified.
    trust: String,
    keys: KeyIndex,
    /// The flags that have records (so the next seal can delete those that go).
    flags: Vec<String>,
}

const SEAL_DOMAIN: &[u8] = b"edgeflag seal v1";
const RECORD_DOMAIN: &[u8] = b"edgeflag flag record v1";

fn record_parts<'a>(env: &'a str, version: &'a str, flag: &'a str) -> [&'a [u8]; 4] {
    [
        RECORD_DOMAIN,
        env.as_bytes(),
        version.as_bytes(),
        flag.as_bytes(),
    ]
}

/// The state to answer `flag` of `env` from, when the sealed records allow it; `None`
/// sends the request down the full path. The state holds the flag's record as its
/// snapshot and no signed documents: it answers that one flag and is never cached.
pub async fn open(
    env: &str,
    flag: &str,
    kv: &impl Kv,
    key: &SealKey,
    now_ms: i64,
) -> Option<EnvState> {
    let version = crate::state::read_version(kv, env).await.ok()??;
    let seal = read_seal(env, kv, key).await?;
    if seal.environment != env || seal.version != version {
        return None;
    }
    if seal.trust != StoredTrust::read(kv).await.ok()?.digest() {
        return None;
    }
    let stored = kv.get(&layout::flag_record(env, flag)).await.ok()??;
    let text = version.to_string();
    let doc = key.unwrap(&record_parts(env, &text, flag), &stored)?;
    let snapshot = Snapshot::load(doc).ok()?.snapshot;
    if snapshot.environment() != env || snapshot.version() != version {
        return None;
    }
    Some(EnvState {
        environment: env.to_string(),
        version,
        snapshot,
        keys: seal.keys,
        client_jws: String::new(),
        server_jws: String::new(),
        loaded_at_ms: now_ms,
    })
}

async fn read_seal(env: &str, kv: &impl Kv, key: &SealKey) -> Option<Seal> {
    let stored = kv.get(&layout::seal(env)).await.ok()??;
    let body = key.unwrap(&[SEAL_DOMAIN, env.as_bytes()], &stored)?;
    serde_json::from_slice(body).ok()
}

/// Whether the stored seal of `env` is for `version` under the endorsements `trust`.
pub async fn is_current(env: &str, version: u64, trust: &str, kv: &impl Kv, key: &SealKey) -> bool {
    read_seal(env, kv, key)
        .await
        .is_some_and(|seal| seal.version == version && seal.trust == trust)
}

/// What [`write`] needs of a version the edge has just verified.
#[derive(Debug)]
pub struct Verified<'a> {
    pub environment: &'a str,
    pub version: u64,
    /// The server snapshot's payload (the JSON its signature covers).
    pub payload: &'a [u8],
    /// The same, loaded.
    pub snapshot: &'a Snapshot,
    pub keys: &'a KeyIndex,
    /// [`StoredTrust::digest`] of the endorsements it was verified under.
    pub trust: &'a str,
}

/// Writes a record for every flag of a verified version (within the size limits),
/// deletes the records of flags the previous seal listed and this version lacks, and
/// writes the seal last. Returns how many flags were sealed.
pub async fn write(verified: &Verified<'_>, kv: &impl Kv, key: &SealKey) -> Result<usize, KvError> {
    let env = verified.environment;
    let version = verified.version.to_string();
    let subsets = subsets(verified.payload).unwrap_or_default();
    let mut sealed = Vec::new();
    let mut total = 0;
    for (flag, doc) in subsets {
        if doc.len() > MAX_RECORD_BYTES || total + doc.len() > MAX_TOTAL_BYTES {
            continue;
        }
        if !answers_alike(verified.snapshot, &flag, &doc) {
            continue;
        }
        total += doc.len();
        let value = key.wrap(&record_parts(env, &version, &flag), &doc);
        kv.put(&layout::flag_record(env, &flag), &value).await?;
        sealed.push(flag);
    }
    if let Some(previous) = read_seal(env, kv, key).await {
        let now: BTreeSet<&str> = sealed.iter().map(String::as_str).collect();
        for gone in previous.flags.iter().filter(|f| !now.contains(f.as_str())) {
            kv.delete(&layout::flag_record(env, gone)).await?;
        }
    }
    let count = sealed.len();
    let seal = Seal {
        environment: env.to_string(),
        version: verified.version,
        trust: verified.trust.to_string(),
        keys: verified.keys.clone(),
        flags: sealed,
    };
    let body = serde_json::to_vec(&seal).map_err(|e| KvError(e.to_string()))?;
    let value = key.wrap(&[SEAL_DOMAIN, env.as_bytes()], &body);
    kv.put(&layout::seal(env), &value).await?;
    Ok(count)
}

/// A record is written only if it loads and describes its flag exactly as the whole
/// snapshot does (a guard; [`subsets`] keeps every item evaluation can reach).
fn answers_alike(whole: &Snapshot, flag: &str, doc: &[u8]) -> bool {
    let Ok(part) = Snapshot::load(doc) else {
        return false;
    };
    let part = part.snapshot;
    part.flag(flag).is_some()
        && part.flag(flag) == whole.flag(flag)
        && part.environment() == whole.environment()
        && part.version() == whole.version()
}

/// For every flag key of a snapshot's JSON, the smallest snapshot that evaluates that
/// flag as the whole one does: every top-level member but `flags` and `segments` as
/// written, and, in their order, the flag and segment items whose key is reachable
/// from the flag. An item reaches every flag and segment whose key appears anywhere
/// in it as a string (its prerequisites, its `inSegment` conditions, and more that
/// does no harm), so nothing evaluation can consult is left out; items are copied as
/// written, repeated members and all, so a definition error stays one. An item whose
/// `key` is missing, repeated or not a string is in no record: the engine lists it
/// under no key. Errors when the document is not a JSON object (it was loaded, so
/// this does not happen to a verified one).
pub fn subsets(payload: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let members: Members<'_> = serde_json::from_slice(payload).map_err(|e| e.to_string())?;
    let items = |name: &str| -> Vec<&RawValue> {
        members
            .0
            .iter()
            .rev()
            .find(|(member, _)| member == name)
            .and_then(|(_, raw)| serde_json::from_str::<Vec<&RawValue>>(raw.get()).ok())
            .unwrap_or_default()
    };
    let flags = Items::read(items("flags"));
    let segments = Items::read(items("segments"));
    let mut out = Vec::new();
    for flag in flags.by_key.keys() {
        let (flag_keys, segment_keys) = reach(flag, &flags, &segments);
        let mut doc = Vec::from(*b"{");
        for (name, raw) in &members.0 {
            if name == "flags" || name == "segments" {
                continue;
            }
            push_member(&mut doc, name, raw.get());
        }
        push_member(&mut doc, "flags", &flags.list(&flag_keys));
        push_member(&mut doc, "segments", &segments.list(&segment_keys));
        if doc.last() == Some(&b',') {
            doc.pop();
        }
        doc.push(b'}');
        out.push((flag.clone(), doc));
    }
    Ok(out)
}

fn push_member(doc: &mut Vec<u8>, name: &str, raw: &str) {
    // Writing a string into a vector cannot fail.
    let _ = serde_json::to_writer(&mut *doc, name);
    doc.push(b':');
    doc.extend_from_slice(raw.as_bytes());
    doc.push(b',');
}

/// The flag and segment keys reachable from `flag` (itself included).
fn reach(
    flag: &str,
    flags: &Items<'_>,
    segments: &Items<'_>,
) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut flag_keys = BTreeSet::from([flag.to_string()]);
    let mut segment_keys = BTreeSet::new();
    let mut todo = vec![(true, flag.to_string())];
    while let Some((is_flag, key)) = todo.pop() {
        let items = if is_flag { flags } else { segments };
        for text in items.strings_of(&key) {
            if flags.by_key.contains_key(text) && flag_keys.insert(text.clone()) {
                todo.push((true, text.clone()));
            }
            if segments.by_key.contains_key(text) && segment_keys.insert(text.clone()) {
                todo.push((false, text.clone()));
            }
        }
    }
    (flag_keys, segment_keys)
}

/// The items of `flags` or `segments`: raw text, key, and every string in each.
struct Items<'a> {
    raw: Vec<&'a RawValue>,
    /// Key → indices of the items with that key, in document order.
    by_key: BTreeMap<String, Vec<usize>>,
    strings: Vec<Vec<String>>,
}

impl<'a> Items<'a> {
    fn read(raw: Vec<&'a RawValue>) -> Self {
        let mut by_key: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let mut strings = Vec::with_capacity(raw.len());
        for (i, item) in raw.iter().enumerate() {
            if let Some(key) = key_of(item) {
                by_key.entry(key).or_default().push(i);
            }
            strings.push(strings_in(item.get()));
        }
        Self {
            raw,
            by_key,
            strings,
        }
    }

    fn strings_of(&self, key: &str) -> impl Iterator<Item = &String> {
        self.by_key
            .get(key)
            .into_iter()
            .flatten()
            .filter_map(|i| self.strings.get(*i))
            .flatten()
    }

    /// A JSON array of the items with one of `keys`, in document order.
    fn list(&self, keys: &BTreeSet<String>) -> String {
        let mut picked: Vec<usize> = keys
            .iter()
            .filter_map(|k| self.by_key.get(k))
            .flatten()
            .copied()
            .collect();
        picked.sort_unstable();
        let texts: Vec<&str> = picked
            .iter()
            .filter_map(|i| self.raw.get(*i))
            .map(|raw| raw.get())
            .collect();
        format!("[{}]", texts.join(","))
    }
}

/// An item's `key`, when it is an object whose `key` member appears once and is a
/// string: the engine lists it under no other.
fn key_of(item: &RawValue) -> Option<String> {
    let members: Members<'_> = serde_json::from_str(item.get()).ok()?;
    let mut keys = members.0.iter().filter(|(name, _)| name == "key");
    match (keys.next(), keys.next()) {
        (Some((_, raw)), None) => serde_json::from_str(raw.get()).ok(),
        _ => None,
    }
}

/// A JSON object's members in document order, repeated names kept, values unparsed.
struct Members<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> Visitor<'de> for Visit {
            type Value = Members<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut members = Vec::new();
                while let Some(name) = map.next_key::<String>()? {
                    members.push((name, map.next_value::<&RawValue>()?));
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(Visit)
    }
}

/// Every string of a JSON text (valid, as a [`RawValue`] is), member names included.
/// A scan rather than a parse: numbers are never converted, so one out of `f64`'s
/// range (which the engine reads as a malformed member) cannot stop it.
fn strings_in(raw: &str) -> Vec<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        if byte != b'"' {
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        while let Some(&c) = bytes.get(i) {
            match c {
                b'\\' => i += 2,
                b'"' => break,
                _ => i += 1,
            }
        }
        i += 1;
        if let Some(Ok(text)) = raw.get(start..i).map(serde_json::from_str::<String>) {
            out.push(text);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use edgeflag_engine::envelope::SigningKey;
    use serde_json::json;

    use super::*;
    use crate::{
        keys::{KeyEntry, KeyKind},
        kv::MemoryKv,
        trusted::ScopedJwks,
    };

    fn key(secret: &str) -> SealKey {
        let signer = SigningKey::from_seed("k", [1; 32]);
        let jwks = ScopedJwks {
            keys: vec![crate::trusted::ScopedJwk {
                jwk: signer.verifying_key().to_jwk(),
                org: None,
            }],
        };
        let trusted = TrustedKeys::from_jwks(&jwks).unwrap();
        SealKey::derive(secret.as_bytes(), &trusted).unwrap()
    }

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn doc() -> serde_json::Value {
        let flag = |key: &str, extra: serde_json::Value| {
            let mut f = json!({"key": key, "type": "boolean", "enabled": true,
                "variations": [{"key": "on", "value": true}, {"key": "off", "value": false}],
                "offVariation": "off", "defaultRule": {"variation": "on"}});
            f.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            f
        };
        json!({
            "schemaVersion": 1, "environment": "prod", "version": 7,
            "generatedAt": "2026-12-01T00:00:00Z",
            "flags": [
                flag("a", json!({"prerequisites": [{"flag": "b", "variation": "on"}]})),
                flag("b", json!({"rules": [{"id": "r", "conditions": [{"attribute": "x", "op": "inSegment", "values": ["s"]}], "serve": {"variation": "off"}}]})),
                flag("c", json!({})),
            ],
            "segments": [
                {"key": "s", "included": ["u1"]},
                {"key": "t", "included": ["u2"]},
            ],
        })
    }

    fn index() -> KeyIndex {
        KeyIndex {
            environment: "prod".into(),
            version: 7,
            keys: vec![KeyEntry {
                hash: "h".into(),
                kind: KeyKind::Server,
                expires_at_ms: None,
            }],
            retired: false,
        }
    }

    #[test]
    fn a_record_holds_what_its_flag_reaches_and_nothing_else() {
        let payload = serde_json::to_vec(&doc()).unwrap();
        let subsets: BTreeMap<String, Vec<u8>> = subsets(&payload).unwrap().into_iter().collect();
        let keys = |flag: &str, member: &str| -> Vec<String> {
            let v: serde_json::Value = serde_json::from_slice(&subsets[flag]).unwrap();
            v[member]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["key"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(keys("a", "flags"), ["a", "b"]);
        assert_eq!(keys("a", "segments"), ["s"]);
        assert_eq!(keys("b", "flags"), ["b"]);
        assert_eq!(keys("c", "flags"), ["c"]);
        assert!(keys("c", "segments").is_empty());
        let whole = Snapshot::load(&payload).unwrap().snapshot;
        for (flag, part) in &subsets {
            assert!(answers_alike(&whole, flag, part), "{flag}");
        }
    }

    #[test]
    fn repeated_members_and_keys_are_kept_as_written() {
        // `enabled` twice makes `a` invalid; the record must keep it invalid. Two items
        // keyed `b` make `b` invalid; both go into every record that reaches `b`.
        let text = r#"{"schemaVersion":1,"environment":"prod","version":7,"generatedAt":"2026-12-01T00:00:00Z","flags":[
            {"key":"a","type":"boolean","enabled":true,"enabled":false,"variations":[{"key":"on","value":true}],"offVariation":"on","defaultRule":{"variation":"on"}},
            {"key":"b","type":"boolean","enabled":true,"variations":[{"key":"on","value":true}],"offVariation":"on","defaultRule":{"variation":"on"}},
            {"key":"b","type":"boolean","enabled":true,"variations":[{"key":"on","value":true}],"offVariation":"on","defaultRule":{"variation":"on"}},
            {"key":"x","key":"y","type":"boolean"}]}"#;
        let whole = Snapshot::load(text.as_bytes()).unwrap().snapshot;
        let subsets: BTreeMap<String, Vec<u8>> =
            subsets(text.as_bytes()).unwrap().into_iter().collect();
        assert_eq!(
            subsets.keys().collect::<Vec<_>>(),
            ["a", "b"],
            "an item with a repeated key is under no key"
        );
        for (flag, part) in &subsets {
            let part = Snapshot::load(part).unwrap().snapshot;
            assert_eq!(part.flag(flag), whole.flag(flag));
            assert!(!part.flag(flag).unwrap().valid, "{flag} stays invalid");
        }
    }

    /// A store holding version 7 of `prod`, sealed under `secret`.
    fn sealed_store(secret: &str) -> (MemoryKv, usize) {
        let kv = MemoryKv::default();
        let payload = serde_json::to_vec(&doc()).unwrap();
        let snapshot = Snapshot::load(&payload).unwrap().snapshot;
        let trust = StoredTrust::default().digest();
        let verified = Verified {
            environment: "prod",
            version: 7,
            payload: &payload,
            snapshot: &snapshot,
            keys: &index(),
            trust: &trust,
        };
        pollster::block_on(kv.put(&layout::version("prod"), b"7")).unwrap();
        let count = pollster::block_on(write(&verified, &kv, &key(secret))).unwrap();
        (kv, count)
    }

    fn open_now(kv: &MemoryKv, flag: &str, secret: &str) -> Option<EnvState> {
        pollster::block_on(open("prod", flag, kv, &key(secret), 0))
    }

    #[test]
    fn an_intact_record_answers_like_the_whole_snapshot() {
        let (kv, count) = sealed_store(SECRET);
        assert_eq!(count, 3);
        let state = open_now(&kv, "a", SECRET).expect("opens");
        assert_eq!((state.version, state.keys.clone()), (7, index()));
        let whole = Snapshot::load(&serde_json::to_vec(&doc()).unwrap())
            .unwrap()
            .snapshot;
        for user in ["u1", "u2"] {
            let text = format!(r#"{{"targetingKey":"{user}","x":"{user}"}}"#);
            let ctx = edgeflag_engine::Context::from_json(text.as_bytes()).unwrap();
            assert_eq!(
                format!("{:?}", state.snapshot.evaluate("a", &ctx, 0)),
                format!("{:?}", whole.evaluate("a", &ctx, 0))
            );
        }
        assert!(
            open_now(&kv, "nope", SECRET).is_none(),
            "no record: full path"
        );
    }

    #[test]
    fn anything_not_sealed_by_this_edge_for_this_version_is_ignored() {
        let tampered = |change: &dyn Fn(&MemoryKv)| {
            let (kv, _) = sealed_store(SECRET);
            change(&kv);
            open_now(&kv, "a", SECRET).is_none()
        };
        let get = |kv: &MemoryKv, k: &str| pollster::block_on(kv.get(k)).unwrap().unwrap();
        let put = |kv: &MemoryKv, k: &str, v: &[u8]| pollster::block_on(kv.put(k, v)).unwrap();
        // A byte of the record's snapshot changed.
        assert!(tampered(&|kv| {
            let mut v = get(kv, "env/prod/flag/a");
            let at = v.len() - 3;
            v[at] ^= 1;
            put(kv, "env/prod/flag/a", &v);
        }));
        // Another flag's record under this flag's name.
        assert!(tampered(&|kv| {
            let other = get(kv, "env/prod/flag/c");
            put(kv, "env/prod/flag/a", &other);
        }));
        // The seal's key index widened.
        assert!(tampered(&|kv| {
            let v = String::from_utf8(get(kv, "env/prod/seal")).unwrap();
            put(
                kv,
                "env/prod/seal",
                v.replace("\"h\"", "\"evil\"").as_bytes(),
            );
        }));
        // The version pointer moved on (a publish is under way or the seal is old).
        assert!(tampered(&|kv| put(kv, "env/prod/version", b"8")));
        // An endorsement changed since the seal.
        assert!(tampered(&|kv| put(
            kv,
            layout::TRUSTED_KEYS,
            b"{\"keys\":[]}"
        )));
        // Sealed by an edge with another secret.
        let (kv, _) = sealed_store("another secret of at least 32 bytes!!");
        assert!(open_now(&kv, "a", SECRET).is_none());
        // And the untouched store opens.
        let (kv, _) = sealed_store(SECRET);
        assert!(open_now(&kv, "a", SECRET).is_some());
        assert!(SealKey::derive(b"short", &TrustedKeys::default()).is_none());
    }

    #[test]
    fn a_new_seal_deletes_the_records_of_flags_that_went() {
        let (kv, _) = sealed_store(SECRET);
        let mut next = doc();
        next["version"] = json!(8);
        next["flags"].as_array_mut().unwrap().truncate(2);
        let payload = serde_json::to_vec(&next).unwrap();
        let snapshot = Snapshot::load(&payload).unwrap().snapshot;
        let trust = StoredTrust::default().digest();
        let mut keys = index();
        keys.version = 8;
        let verified = Verified {
            environment: "prod",
            version: 8,
            payload: &payload,
            snapshot: &snapshot,
            keys: &keys,
            trust: &trust,
        };
        assert_eq!(
            pollster::block_on(write(&verified, &kv, &key(SECRET))).unwrap(),
            2
        );
        assert!(
            pollster::block_on(kv.get("env/prod/flag/c"))
                .unwrap()
                .is_none()
        );
        assert!(pollster::block_on(is_current(
            "prod",
            8,
            &trust,
            &kv,
            &key(SECRET)
        )));
        assert!(!pollster::block_on(is_current(
            "prod",
            7,
            &trust,
            &kv,
            &key(SECRET)
        )));
    }
}
