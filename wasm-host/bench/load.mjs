// Load benchmark of the Spin app under the wasmtime host's `serve` mode, with the
// Worker benchmark's flags, context and load (edge-worker/bench/load.mjs): 100 flags,
// OFREP single and bulk, autocannon, 10 connections, 10 s each, and each as a share of
// `GET /healthz` in the same host (a fresh instance that reloads nothing).
// Run (after `cargo xtask build-components` and a release build of the host):
//   EDGEFLAG_SPIN_COMPONENT=… EDGEFLAG_HOST_BIN=target/release/edgeflag-wasm-host \
//     edge-worker/node_modules/.bin/node wasm-host/bench/load.mjs
// It reuses the Worker suite's signing helpers and edge-worker's node_modules.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { keysFor, publish, publishBody, publisher, root } from '../../edge-worker/test/helpers.mjs';

const require = createRequire(join(root, 'edge-worker', 'package.json'));
const autocannon = require('autocannon');

const DURATION = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const SERVER = 'srv_bench';
const conditions = [
  ['country', 'in', ['DE', 'AT', 'CH']],
  ['email', 'endsWith', ['@example.com']],
];
const keyOf = (i) => `flag-${String(i).padStart(5, '0')}`;
const snapshot = {
  schemaVersion: 1, environment: 'bench', version: 1, generatedAt: '2026-11-25T12:00:00Z', segments: [],
  flags: Array.from({ length: 100 }, (_, i) => ({
    key: keyOf(i), version: 1, type: 'boolean', enabled: true, offVariation: 'off',
    variations: [{ key: 'on', value: true }, { key: 'off', value: false }],
    rules: [{ id: 'r0', conditions: conditions.map(([attribute, op, values]) => ({ attribute, op, values })), serve: { variation: 'on' } }],
    defaultRule: { rollout: { variations: [{ variation: 'on', weight: 50000 }, { variation: 'off', weight: 50000 }] } },
  })),
};
const context = { targetingKey: 'user-42', country: 'NZ', email: 'ada@example.org', plan: 'free' };

// `sealed`: with a seal secret, as spin.toml configures production apps, a one-flag
// evaluation answers from the flag's sealed record (edge/src/sealed.rs); without, every
// fresh instance verifies and compiles the whole environment.
// `usageUrl`: counting on, each request's counts sent there after its response.
function startHost(signer, sealed, usageUrl) {
  const bin = process.env.EDGEFLAG_HOST_BIN ?? join(root, 'target', 'release', 'edgeflag-wasm-host');
  const args = ['serve', '127.0.0.1:0', ...(usageUrl ? ['--allow-outbound', usageUrl] : [])];
  const child = spawn(bin, args, {
    env: {
      ...process.env,
      SPIN_VARIABLE_EDGEFLAG_TRUSTED_KEYS: JSON.stringify({ keys: [signer.jwk] }),
      SPIN_VARIABLE_EDGEFLAG_REFRESH_INTERVAL_MS: '5000',
      SPIN_VARIABLE_EDGEFLAG_SEAL_SECRET: sealed ? 'the bench seal secret, 32 bytes or more' : '',
      SPIN_VARIABLE_EDGEFLAG_USAGE_URL: usageUrl ?? '',
      SPIN_VARIABLE_EDGEFLAG_USAGE_KEY: usageUrl ? 'efi_bench' : '',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.on('exit', (code) => reject(new Error(`host exited with ${code}`)));
    child.stdout.on('data', (chunk) => {
      const found = /on (http:\/\/\S+)/.exec(String(chunk));
      if (found) resolve({ child, url: found[1] });
    });
  });
}

async function load(name, url, path, body) {
  // No body: a plain `GET` without a key (the `/healthz` baseline: a fresh instance
  // that loads nothing; with a key it would load the key's environment).
  const post = { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${SERVER}` }, body: JSON.stringify(body) };
  const result = await autocannon({
    url: `${url}${path}`, connections: CONNECTIONS, duration: DURATION, ...(body ? post : { method: 'GET' }),
  });
  const ok = result.non2xx === 0 && result.errors === 0;
  return { name, rps: Math.round(result.requests.average), p50: result.latency.p50, p99: result.latency.p99, ok, total: result['2xx'] };
}

// A stand-in for the admin's ingestion endpoint: answers 202 and counts the items it got,
// each idempotency key once (as the admin does).
let sunk = 0;
let batches = 0;
const seen = new Set();
const sink = createServer((req, res) => {
  let body = '';
  req.on('data', (chunk) => { body += chunk; });
  req.on('end', () => {
    batches += 1;
    const key = req.headers['idempotency-key'];
    if (!seen.has(key)) {
      seen.add(key);
      try { for (const item of JSON.parse(body).items) sunk += item.count; } catch { /* counted as nothing */ }
    }
    res.writeHead(202, { 'content-type': 'application/json' }).end('{}');
  });
});
await new Promise((resolve) => sink.listen(0, '127.0.0.1', resolve));
const sinkUrl = `http://127.0.0.1:${sink.address().port}`;

const signer = publisher();
const started = performance.now();
const host = await startHost(signer, true);
const ready = performance.now();
const unsealed = await startHost(signer, false);
const counting = await startHost(signer, true, sinkUrl);
try {
  for (const h of [host, unsealed, counting]) {
    const published = await publish(h.url, 'bench', publishBody(signer, snapshot, keysFor(SERVER, 'cli_bench')));
    if (published.status !== 200) throw new Error(JSON.stringify(published.body));
  }
  const check = await (await fetch(`${host.url}/ofrep/v1/evaluate/flags/flag-00042`, {
    method: 'POST', headers: { authorization: `Bearer ${SERVER}`, 'content-type': 'application/json' }, body: JSON.stringify({ context }),
  })).json();
  console.log('answer:', JSON.stringify(check));
  const health = await load('healthz / spin-app', host.url, '/healthz', null);
  const rows = [
    health,
    await load('single / spin-app (sealed records)', host.url, '/ofrep/v1/evaluate/flags/flag-00042', { context }),
    await load('single / spin-app (no seal secret)', unsealed.url, '/ofrep/v1/evaluate/flags/flag-00042', { context }),
    await load('bulk-100 / spin-app', host.url, '/ofrep/v1/evaluate/flags', { context }),
    await load('single / spin-app (sealed, counting)', counting.url, '/ofrep/v1/evaluate/flags/flag-00042', { context }),
  ];
  // Every answered evaluation reaches the stand-in admin: parked after its response,
  // sent by a later request once its 10-second slot has closed (15 s grace), so keep a
  // trickle of requests going until they are all there.
  const answered = rows[4].total;
  const deadline = Date.now() + 60000;
  while (sunk < answered && Date.now() < deadline) {
    await fetch(`${counting.url}/healthz`);
    await new Promise((r) => setTimeout(r, 500));
  }
  console.log(`\nhost ready (compile + link the component) ${(ready - started).toFixed(0)} ms`);
  console.log(`${CONNECTIONS} connections, ${DURATION} s each, wasmtime host serve mode, fresh instance per request, 127.0.0.1`);
  console.log('| scenario | requests/s | p50 ms | p99 ms | all 2xx |');
  console.log('|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.name} | ${r.rps} | ${r.p50} | ${r.p99} | ${r.ok ? 'yes' : 'NO'} |`);
  const share = (r) => `${((100 * r.rps) / health.rps).toFixed(0)} %`;
  console.log(`\nof /healthz in the same host (goal for single: 60 %): single ${share(rows[1])} (no seal secret: ${share(rows[2])}), bulk-100 ${share(rows[3])}`);
  console.log(`counting: single ${rows[4].rps} req/s against ${rows[1].rps} without (${((100 * rows[4].rps) / rows[1].rps).toFixed(0)} %); ${sunk} evaluations counted for ${answered} 2xx answers autocannon recorded (it drops the last ones in flight), in ${batches} batches`);
} finally {
  host.child.kill();
  unsealed.child.kill();
  counting.child.kill();
  sink.close();
}
