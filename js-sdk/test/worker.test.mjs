// The Workers entry on local workerd (Miniflare): a Worker imports the package's
// `.wasm` as a module — workerd refuses to compile wasm from bytes at request time —
// and evaluates a signed snapshot.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { Miniflare } from 'miniflare';
import { snapshot } from './fixtures.mjs';
import { publisher, sdk } from './helpers.mjs';

const signer = publisher('k1');
const mf = new Miniflare({
  modules: true,
  modulesRoot: sdk,
  scriptPath: join(sdk, 'test', 'worker', 'index.js'),
  modulesRules: [
    { type: 'ESModule', include: ['**/*.js'] },
    { type: 'CompiledWasm', include: ['**/*.wasm'] },
  ],
  compatibilityDate: '2026-07-30',
  bindings: { SNAPSHOT: signer.sign(snapshot(4)), JWKS: JSON.stringify({ keys: [signer.jwk] }) },
  cf: false,
});
after(() => mf.dispose());

it('evaluates in workerd through the Workers entry', async () => {
  const beta = await (await mf.dispatchFetch('http://edge.test/?targetingKey=u1&plan=beta')).json();
  assert.equal(beta.version, 4);
  assert.deepEqual([beta.banner.value, beta.banner.reason, beta.banner.ruleId], [true, 'TARGETING_MATCH', 'beta']);
  const free = await (await mf.dispatchFetch('http://edge.test/?targetingKey=u2&plan=free')).json();
  assert.deepEqual([free.banner.value, free.banner.reason], [false, 'DEFAULT']);
});
