// A Worker that uses the SDK's Workers entry: the `.wasm` is imported as a module
// (compiled at deploy time), as workerd requires. It evaluates a signed bootstrap
// given in a binding, for the context in the request's query string.
import { createClient } from '../../dist/worker.js';

let client;

export default {
  async fetch(request, env) {
    client ??= await createClient({ bootstrap: env.SNAPSHOT, jwks: env.JWKS, refreshIntervalMs: 0 });
    const url = new URL(request.url);
    const context = Object.fromEntries(url.searchParams);
    return Response.json({ version: client.version, banner: client.getBooleanDetails('banner', false, context) });
  },
};
