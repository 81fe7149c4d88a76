// The browser entry: the wasm is fetched (streaming compile) from next to this file
// on first use; bundlers that understand `new URL(…, import.meta.url)` copy it.

import { EdgeflagClient } from './client.js';
import type { ClientOptions } from './types.js';
import init, { Engine } from './wasm/edgeflag_js.js';

export * from './common.js';

let loading: Promise<unknown> | undefined;

/** Creates a client and resolves once it holds a verified snapshot. */
export async function createClient(options: ClientOptions): Promise<EdgeflagClient> {
  loading ??= init();
  await loading;
  return new EdgeflagClient(new Engine(), options).start();
}
