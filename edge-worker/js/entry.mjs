// The Worker's entry point. `cargo xtask build-worker` installs it as
// `build/worker/shim.mjs` (wrangler.toml's `main`, and what the tests load) over
// worker-build's own, which only re-exports `../index.js`.
//
// A warm OFREP evaluation is answered here with one synchronous call into the wasm
// (`FastPath.answer`, `src/fast.rs`): the body is read in JavaScript, and the edge
// answers from the isolate's cache. workers-rs's entry (`index.js`'s default export)
// would construct a `Proxy` per request and per call, run an `async` wrapper and drive
// a Rust future through wasm-bindgen's executor and its promises for the same answer
// (BENCHMARKS.md, "Against an empty Worker"). Everything else takes the workers-rs
// path unchanged: other routes and methods, a cold or stale cache (reading KV), a body
// without a Content-Length or over the limit, and every request while the wasm
// recovers from a trap. Both paths answer byte for byte alike (`test/fast.test.mjs`);
// `EDGEFLAG_FAST_PATH=off` turns this one off; `trace` logs each request it answers
// or hands on (a diagnostic, and what the tests check).
import Workers, { EdgeflagLive, FastPath } from '../index.js';

export { EdgeflagLive };

// Static methods (they use no `this`), taken once from behind worker-build's `Proxy`.
const { answer: fastAnswer, bodyLimit, headerNames } = FastPath;
/** workers-rs's module state: `criticalError` is set when the wasm trapped. */
const init = globalThis.__worker_init_state;
/** Per isolate: `EDGEFLAG_FAST_PATH`, the OFREP body limit, the header names. */
let mode = null;
let limit = 0;
let names = null;

/** workers-rs's entry, as workerd would call it (it reinitializes a trapped module). */
function workersRs(request, env, ctx) {
  return Reflect.construct(Workers, [ctx, env]).fetch(request);
}

/** Whether an absolute URL's path starts with `/ofrep/`. */
function isOfrep(url) {
  const at = url.indexOf('/', url.indexOf('://') + 3);
  return at > 0 && url.startsWith('/ofrep/', at);
}

/** `name\nvalue\n` for each header the edge reads that the request has. */
function pick(headers) {
  let out = '';
  for (const name of names) {
    const value = headers.get(name);
    if (value !== null) out += name + '\n' + value + '\n';
  }
  return out;
}

export default {
  async fetch(request, env, ctx) {
    mode ??= env.EDGEFLAG_FAST_PATH ?? 'on';
    if (mode === 'off' || request.method !== 'POST' || init.criticalError) {
      return workersRs(request, env, ctx);
    }
    // 0 until the first request through workers-rs has configured the isolate.
    limit ||= bodyLimit();
    const length = request.headers.get('content-length');
    const url = request.url;
    if (limit === 0 || length === null || !(Number(length) <= limit) || !isOfrep(url)) {
      return workersRs(request, env, ctx);
    }
    names ??= headerNames();
    const headers = pick(request.headers);
    const body = new Uint8Array(await request.arrayBuffer());
    let answer;
    try {
      answer = fastAnswer(url, headers, body, ctx);
    } catch (error) {
      if (error instanceof WebAssembly.RuntimeError) init.criticalError = true;
      throw error;
    }
    if (mode === 'trace') {
      const path = url.slice(url.indexOf('/', url.indexOf('://') + 3));
      console.log(`edgeflag fast path: ${answer ? `answered ${answer.status}` : 'handed on'} ${path}`);
    }
    // The cache could not answer alone: the same request, its body already read.
    return answer ?? workersRs(new Request(request, { body }), env, ctx);
  },
};
