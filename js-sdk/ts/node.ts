// The node entry: the wasm is read from disk next to this file and compiled once, synchronously.

import { readFileSync } from 'node:fs';
import { EdgeflagClient } from './client.js';
import type { ClientOptions } from './types.js';
import { Engine, initSync } from './wasm/edgeflag_js.js';

export * from './common.js';

let loaded = false;

/** Creates a client and resolves once it holds a verified snapshot. */
export async function createClient(options: ClientOptions): Promise<EdgeflagClient> {
  if (!loaded) {
    initSync({ module: readFileSync(new URL('./wasm/edgeflag_js_bg.wasm', import.meta.url)) });
    loaded = true;
  }
  return new EdgeflagClient(new Engine(), options).start();
}
