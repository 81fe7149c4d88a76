// Load benchmark: the Edgeflag Worker against a LaunchDarkly Worker on local workerd,
// same machine, same load, same 100 equivalent flags. Run: `node bench/load.mjs`
// (after `cargo xtask build-worker`). Prints one table; BENCHMARKS.md records it.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { Miniflare } from 'miniflare';
import { here, keysFor, publish, publishBody, publisher, startWorker } from '../test/helpers.mjs';

const DURATION = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const SERVER = 'srv_bench';

const conditions = [
  ['country', 'in', ['DE', 'AT', 'CH']],
  ['email', 'endsWith', ['@example.com']],
];
const keyOf = (i) => `flag-${String(i).padStart(5, '0')}`;

function edgeflagSnapshot() {
  const flags = Array.from({ length: 100 }, (_, i) => ({
    key: keyOf(i), version: 1, type: 'boolean', enabled: true, offVariation: 'off',
    variations: [{ key: 'on', value: true }, { key: 'off', value: false }],
    rules: [{ id: 'r0', conditions: conditions.map(([attribute, op, values]) => ({ attribute, op, values })), serve: { variation: 'on' } }],
    defaultRule: { rollout: { variations: [{ variation: 'on', weight: 50000 }, { variation: 'off', weight: 50000 }] } },
  }));
  return { schemaVersion: 1, environment: 'bench', version: 1, generatedAt: '2026-11-25T12:00:00Z', flags, segments: [] };
}

function launchDarklyData() {
  const flags = {};
  for (let i = 0; i < 100; i += 1) {
    const key = keyOf(i);
    flags[key] = {
      key, version: 1, on: true, targets: [], prerequisites: [], salt: key, deleted: false, clientSide: false,
      rules: [{ id: 'r0', variation: 0, trackEvents: false, clauses: conditions.map(([attribute, op, values]) => ({ attribute, op, values, negate: false, contextKind: 'user' })) }],
      fallthrough: { rollout: { variations: [{ variation: 0, weight: 50000 }, { variation: 1, weight: 50000 }] } },
      offVariation: 1, variations: [true, false], trackEvents: false, trackEventsFallthrough: false,
    };
  }
  return { flags, segments: {} };
}

const context = { targetingKey: 'user-42', country: 'NZ', email: 'ada@example.org', plan: 'free' };
const ldContext = { kind: 'user', key: 'user-42', country: 'NZ', email: 'ada@example.org', plan: 'free' };

async function startLaunchDarkly() {
  const bundle = join(here, '..', 'build', 'bench-ld-worker.mjs');
  execFileSync(join(here, '..', 'node_modules', '.bin', 'esbuild'), [
    join(here, '..', 'bench', 'ld-worker.mjs'), '--bundle', '--format=esm', '--platform=neutral',
    '--main-fields=module,main', '--conditions=worker,browser', '--external:node:*', `--outfile=${bundle}`, '--log-level=warning',
  ]);
  const mf = new Miniflare({
    modules: true, scriptPath: bundle, compatibilityDate: '2026-07-30', compatibilityFlags: ['nodejs_compat'],
    kvNamespaces: ['LD_KV'], cf: false, host: '127.0.0.1', port: 0,
  });
  const url = (await mf.ready).toString().replace(/\/$/, '');
  const kv = await mf.getKVNamespace('LD_KV');
  await kv.put('LD-Env-bench-sdk-key', JSON.stringify(launchDarklyData()));
  return { mf, url };
}

async function load(name, url, path, headers, body) {
  const result = await autocannon({
    url: `${url}${path}`, method: 'POST', connections: CONNECTIONS, duration: DURATION,
    headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body),
  });
  const ok = result.non2xx === 0 && result.errors === 0;
  return { name, rps: Math.round(result.requests.average), p50: result.latency.p50, p99: result.latency.p99, ok };
}

const signer = publisher();
const started = performance.now();
const edgeflag = await startWorker([signer], { EDGEFLAG_REFRESH_INTERVAL_MS: '5000' });
const ready = performance.now();
// Cold start: the first request instantiates the isolate and the wasm module.
await (await fetch(`${edgeflag.url}/healthz`)).text();
const firstRequest = performance.now();
const published = await publish(edgeflag.url, 'bench', publishBody(signer, edgeflagSnapshot(), keysFor(SERVER, 'cli_bench')));
const publishedAt = performance.now();
if (published.status !== 200) throw new Error(JSON.stringify(published.body));
console.log('publish reply:', JSON.stringify(published.body));
const ld = await startLaunchDarkly();
const auth = { authorization: `Bearer ${SERVER}` };

// Both answer correctly before anything is timed.
const beforeEval = performance.now();
const check1 = await (await fetch(`${edgeflag.url}/ofrep/v1/evaluate/flags/flag-00042`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ context }) })).json();
const check2 = await (await fetch(`${ld.url}/one`, { method: 'POST', body: JSON.stringify({ flag: 'flag-00042', context: ldContext }) })).json();
const firstEval = performance.now();
console.log('edgeflag answer:', JSON.stringify(check1));
console.log('launchdarkly answer:', JSON.stringify(check2));

const rows = [];
rows.push(await load('single / edgeflag', edgeflag.url, '/ofrep/v1/evaluate/flags/flag-00042', auth, { context }));
rows.push(await load('single / launchdarkly', ld.url, '/one', {}, { flag: 'flag-00042', context: ldContext }));
rows.push(await load('bulk-100 / edgeflag', edgeflag.url, '/ofrep/v1/evaluate/flags', auth, { context }));
rows.push(await load('bulk-100 / launchdarkly', ld.url, '/all', {}, { context: ldContext }));
await edgeflag.mf.dispose();
await ld.mf.dispose();

const ms = (a, b) => (b - a).toFixed(1);
console.log(`\ncold start: workerd ready ${ms(started, ready)} ms; first request (isolate + wasm instantiate) ${ms(ready, firstRequest)} ms;`);
console.log(`publish of 100 flags ${ms(firstRequest, publishedAt)} ms; first evaluation ${ms(beforeEval, firstEval)} ms`);
console.log(`\n${CONNECTIONS} connections, ${DURATION} s each, workerd via Miniflare, 127.0.0.1`);
console.log('| scenario | requests/s | p50 ms | p99 ms | all 2xx |');
console.log('|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.name} | ${r.rps} | ${r.p50} | ${r.p99} | ${r.ok ? 'yes' : 'NO'} |`);
