//! What a fresh Spin instance does for one OFREP request, natively, `N` times: a new
//! edge reads, verifies and loads the stored documents (100 flags), then evaluates; with
//! `sealed`, it answers from the flag's sealed record instead. For counting
//! instructions, which a busy machine does not disturb (BENCHMARKS.md, Spin):
//! `valgrind --tool=callgrind target/release/examples/fresh_instance 10 [sealed]`, minus
//! the same with `0` (the setup: signing and one publish). The fixture is the one of
//! `benches/requests.rs`.

use edgeflag_edge::Edge;

#[path = "../benches/fixture.rs"]
mod fixture;
use fixture::{NOW, Options, edge_with, hundred_flags, single_request};

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(0);
    let sealed = args.next().as_deref() == Some("sealed");
    let options = Options {
        sealed,
        ..Options::default()
    };
    let (edge, kv) = edge_with(hundred_flags(), options);
    let config = edge.config().clone();
    let single = single_request();
    for _ in 0..n {
        let r = pollster::block_on(Edge::new(config.clone()).handle(&single, &kv, NOW));
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    }
}
