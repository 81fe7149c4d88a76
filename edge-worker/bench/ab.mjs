// A/B of the Worker's evaluation throughput: this build (live updates on, and with the
// stream secret unset) against another build of the Worker, interleaved three times so
// that a busy machine weighs on both alike. BENCH_BASELINE is the other build's
// `edge-worker/build` directory, e.g. from `git archive <rev> | tar -x -C /tmp/base`
// and `worker-build --profile wasm` there. Run: `BENCH_BASELINE=… node bench/ab.mjs`.
import autocannon from 'autocannon';
import { join } from 'node:path';
import { keysFor, publish, publishBody, publisher, startWorker } from '../test/helpers.mjs';
const signer = publisher();
const flags = Array.from({ length: 100 }, (_, i) => ({
  key: `flag-${String(i).padStart(5, '0')}`, version: 1, type: 'boolean', enabled: true, offVariation: 'off',
  variations: [{ key: 'on', value: true }, { key: 'off', value: false }],
  rules: [{ id: 'r0', conditions: [{ attribute: 'country', op: 'in', values: ['DE', 'AT'] }, { attribute: 'email', op: 'endsWith', values: ['@example.com'] }], serve: { variation: 'on' } }],
  defaultRule: { rollout: { variations: [{ variation: 'on', weight: 50000 }, { variation: 'off', weight: 50000 }] } },
}));
const doc = { schemaVersion: 1, environment: 'bench', version: 1, generatedAt: '2026-11-25T12:00:00Z', flags, segments: [] };
const main = process.env.BENCH_BASELINE;
if (!main) throw new Error('set BENCH_BASELINE to the edge-worker/build directory of the build to compare with');
const builds = {
  baseline: await startWorker([signer], { EDGEFLAG_REFRESH_INTERVAL_MS: '5000', EDGEFLAG_STREAM_SECRET: '' }, { scriptPath: join(main, 'worker', 'shim.mjs'), modulesRoot: main, durableObjects: {} }),
  live: await startWorker([signer], { EDGEFLAG_REFRESH_INTERVAL_MS: '5000' }),
  'live, secret unset': await startWorker([signer], { EDGEFLAG_REFRESH_INTERVAL_MS: '5000', EDGEFLAG_STREAM_SECRET: '' }),
};
for (const w of Object.values(builds)) await publish(w.url, 'bench', publishBody(signer, doc, keysFor('srv', 'cli')));
const context = { targetingKey: 'user-42', country: 'NZ', email: 'ada@example.org' };
const results = {};
for (let round = 0; round < 3; round += 1) {
  for (const [name, w] of Object.entries(builds)) {
    for (const path of ['/ofrep/v1/evaluate/flags', '/ofrep/v1/evaluate/flags/flag-00042']) {
      const r = await autocannon({ url: `${w.url}${path}`, method: 'POST', connections: 10, duration: 6,
        headers: { authorization: 'Bearer srv', 'content-type': 'application/json' }, body: JSON.stringify({ context }) });
      const key = `${name} ${path.endsWith('flags') ? 'bulk' : 'single'}`;
      (results[key] ??= []).push(Math.round(r.requests.average));
    }
  }
}
for (const [k, v] of Object.entries(results)) console.log(k.padEnd(32), v.join(' '), ' median', v.sort((a, b) => a - b)[1]);
for (const w of Object.values(builds)) await w.mf.dispose();
