//! Load + evaluate on arbitrary bytes: the input is split at the first NUL into a
//! snapshot and a context. Any panic, overflow or hang is a bug.
#![no_main]

use edgeflag_engine::{Context, Snapshot};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (snapshot, context) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &b"{\"targetingKey\":\"u\"}"[..]),
    };
    let Ok(loaded) = Snapshot::load(snapshot) else { return };
    let ctx = Context::from_json(context).unwrap_or_default();
    for (key, detail) in loaded.snapshot.evaluate_all(&ctx, 1_795_608_000_000) {
        assert_eq!(detail.value.is_none(), detail.error.is_some(), "{key}");
    }
    let _ = loaded.snapshot.evaluate("missing", &ctx, 0);
});
