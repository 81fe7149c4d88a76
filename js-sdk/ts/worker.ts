// The Workers entry (workerd and other edge runtimes): they refuse to compile wasm
// from bytes at request time, so the `.wasm` is imported as a module and compiled
// when the Worker is deployed.

import { EdgeflagClient } from './client.js';
import type { ClientOptions } from './types.js';
import { Engine, initSync } from './wasm/edgeflag_js.js';
import wasmModule from './wasm/edgeflag_js_bg.wasm';

export * from './common.js';

let loaded = false;

/** Creates a client and resolves once it holds a verified snapshot. */
export async function createClient(options: ClientOptions): Promise<EdgeflagClient> {
  if (!loaded) {
    initSync({ module: wasmModule });
    loaded = true;
  }
  return new EdgeflagClient(new Engine(), options).start();
}
