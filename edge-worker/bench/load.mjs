// Load benchmark: the Edgeflag Worker against a LaunchDarkly Worker and against an
// empty Worker (the runtime's ceiling, `bench/empty-worker.mjs`) on local workerd,
// same machine, same load, same 100 equivalent flags. Run: `node bench/load.mjs`
// (after `cargo xtask build-worker`; `BENCH_LD=0` leaves LaunchDarkly out, `BENCH_BUILD`
// measures another build). Prints one
// table with each Edgeflag scenario as a share of the empty Worker; BENCHMARKS.md
// records it.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
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

/** The workerd processes this process started (Miniflare's children). */
function workerdPids() {
  const out = execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  return new Set(out.split('\n').filter((l) => l.includes('workerd')).map((l) => Number(l.trim().split(/\s+/)[0])));
}

/** Starts a Worker and learns which workerd process serves it, to read its CPU time. */
async function withPid(start) {
  const before = workerdPids();
  const worker = await start();
  const pid = [...workerdPids()].find((p) => !before.has(p));
  if (!pid) throw new Error('cannot tell which workerd process serves the Worker');
  return { ...worker, pid };
}

/** User + system CPU time of a process, in microseconds (clock ticks of 10 ms). */
function cpuMicros(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

/** The empty Worker, on a workerd started the same way as the others. */
async function startEmpty() {
  const mf = new Miniflare({
    modules: true, scriptPath: join(here, '..', 'bench', 'empty-worker.mjs'), compatibilityDate: '2026-07-30',
    cf: false, host: '127.0.0.1', port: 0,
  });
  return { mf, url: (await mf.ready).toString().replace(/\/$/, '') };
}

/**
 * Loads one scenario. Besides requests/s (which a busy machine moves a lot), it reports
 * the CPU time the serving workerd process spent per answered request, which moves far
 * less: the Worker's own cost, the runtime's included.
 */
async function load(name, worker, path, headers, body) {
  const cpuBefore = cpuMicros(worker.pid);
  const result = await autocannon({
    url: `${worker.url}${path}`, method: 'POST', connections: CONNECTIONS, duration: DURATION,
    headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body),
  });
  const cpu = (cpuMicros(worker.pid) - cpuBefore) / result.requests.total;
  const ok = result.non2xx === 0 && result.errors === 0;
  return { name, rps: Math.round(result.requests.average), p50: result.latency.p50, p99: result.latency.p99, cpu, ok };
}

const signer = publisher();
const started = performance.now();
// `BENCH_BUILD=<an edge-worker/build directory>` measures another build (an older revision).
const build = process.env.BENCH_BUILD;
const buildOptions = build ? { scriptPath: join(build, 'worker', 'shim.mjs'), modulesRoot: build } : {};
const edgeflag = await withPid(() => startWorker([signer], { EDGEFLAG_REFRESH_INTERVAL_MS: '5000' }, buildOptions));
const ready = performance.now();
// Cold start: the first request instantiates the isolate and the wasm module.
await (await fetch(`${edgeflag.url}/healthz`)).text();
const firstRequest = performance.now();
const published = await publish(edgeflag.url, 'bench', publishBody(signer, edgeflagSnapshot(), keysFor(SERVER, 'cli_bench')));
const publishedAt = performance.now();
if (published.status !== 200) throw new Error(JSON.stringify(published.body));
console.log('publish reply:', JSON.stringify(published.body));
// `BENCH_FAST_OFF=1` also loads the same build with its OFREP fast path off
// (`EDGEFLAG_FAST_PATH=off`: every request through workers-rs's entry) in each round.
const withOff = process.env.BENCH_FAST_OFF === '1';
const off = withOff
  ? await withPid(() => startWorker([signer], { EDGEFLAG_REFRESH_INTERVAL_MS: '5000', EDGEFLAG_FAST_PATH: 'off' }, buildOptions))
  : null;
if (off) {
  const res = await publish(off.url, 'bench', publishBody(signer, edgeflagSnapshot(), keysFor(SERVER, 'cli_bench')));
  if (res.status !== 200) throw new Error(JSON.stringify(res.body));
}
const withLd = process.env.BENCH_LD !== '0';
const ld = withLd ? await withPid(startLaunchDarkly) : null;
const empty = await withPid(startEmpty);
const auth = { authorization: `Bearer ${SERVER}` };

// Both answer correctly before anything is timed.
const beforeEval = performance.now();
const check1 = await (await fetch(`${edgeflag.url}/ofrep/v1/evaluate/flags/flag-00042`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ context }) })).json();
const firstEval = performance.now();
console.log('edgeflag answer:', JSON.stringify(check1));
if (ld) {
  const check2 = await (await fetch(`${ld.url}/one`, { method: 'POST', body: JSON.stringify({ flag: 'flag-00042', context: ldContext }) })).json();
  console.log('launchdarkly answer:', JSON.stringify(check2));
}
const check3 = await (await fetch(`${empty.url}/ofrep/v1/evaluate/flags/flag-00042`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ context }) })).json();
console.log('empty worker answer:', JSON.stringify(check3));

// The Edgeflag scenarios and the empty Worker alternate in rounds, and each round's
// ratios are taken within the round, so a machine that gets busier or quieter during
// the run weighs on both sides alike; the median round is the finding.
const SINGLE = '/ofrep/v1/evaluate/flags/flag-00042';
const BULK = '/ofrep/v1/evaluate/flags';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const rows = [];
const rounds = [];
const offRows = [];
for (let round = 1; round <= ROUNDS; round += 1) {
  const ceiling = await load(`single / empty Worker (round ${round})`, empty, SINGLE, auth, { context });
  const single = await load(`single / edgeflag (round ${round})`, edgeflag, SINGLE, auth, { context });
  if (off) offRows.push(await load(`single / the same without the fast path (round ${round})`, off, SINGLE, auth, { context }));
  const bulk = await load(`bulk-100 / edgeflag (round ${round})`, edgeflag, BULK, auth, { context });
  const fixed = await load(`bulk-100 / empty Worker, a fixed 100-flag answer (round ${round})`, empty, BULK, auth, { context });
  rows.push(ceiling, single, ...offRows.slice(-1), bulk, fixed);
  rounds.push({
    single: single.rps / ceiling.rps, bulk: bulk.rps / ceiling.rps, fixed: bulk.rps / fixed.rps,
    singleCpu: ceiling.cpu / single.cpu, bulkCpu: ceiling.cpu / bulk.cpu, fixedCpu: fixed.cpu / bulk.cpu,
  });
}
if (ld) {
  rows.push(await load('single / launchdarkly', ld, '/one', {}, { flag: 'flag-00042', context: ldContext }));
  rows.push(await load('bulk-100 / launchdarkly', ld, '/all', {}, { context: ldContext }));
}
await edgeflag.mf.dispose();
await off?.mf.dispose();
await ld?.mf.dispose();
await empty.mf.dispose();
const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
const pct = (x) => `${(100 * x).toFixed(0)} %`;

const ms = (a, b) => (b - a).toFixed(1);
console.log(`\ncold start: workerd ready ${ms(started, ready)} ms; first request (isolate + wasm instantiate) ${ms(ready, firstRequest)} ms;`);
console.log(`publish of 100 flags ${ms(firstRequest, publishedAt)} ms; first evaluation ${ms(beforeEval, firstEval)} ms`);
console.log(`\n${CONNECTIONS} connections, ${DURATION} s each, workerd via Miniflare, 127.0.0.1`);
console.log('| scenario | requests/s | p50 ms | p99 ms | workerd CPU µs per request | all 2xx |');
console.log('|---|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.name} | ${r.rps} | ${r.p50} | ${r.p99} | ${r.cpu.toFixed(0)} | ${r.ok ? 'yes' : 'NO'} |`);
console.log('\nshare of the empty Worker\'s single answer in the same round (goals: single 85 %, bulk-100 60 %),');
console.log('and bulk-100 against the empty Worker\'s fixed 100-flag answer: by requests/s, and in brackets');
console.log('by workerd CPU time per request (the empty Worker\'s over Edgeflag\'s):');
console.log('| round | OFREP single | OFREP bulk-100 | bulk-100 / fixed bulk |');
console.log('|---|---|---|---|');
const cell = (r, k) => `${pct(r[k])} (${pct(r[`${k}Cpu`])})`;
rounds.forEach((r, i) => console.log(`| ${i + 1} | ${cell(r, 'single')} | ${cell(r, 'bulk')} | ${cell(r, 'fixed')} |`));
const med = (k) => `${pct(median(rounds.map((r) => r[k])))} (${pct(median(rounds.map((r) => r[`${k}Cpu`])))})`;
console.log(`| median | ${med('single')} | ${med('bulk')} | ${med('fixed')} |`);
// A busy machine only ever adds CPU time to a request, so each scenario's least CPU
// per request over the rounds is the steadiest estimate of its own cost.
const least = (prefix) => Math.min(...rows.filter((r) => r.name.startsWith(prefix)).map((r) => r.cpu));
const cpu = {
  empty: least('single / empty Worker'), single: least('single / edgeflag'),
  bulk: least('bulk-100 / edgeflag'), fixed: least('bulk-100 / empty Worker'),
};
console.log(`\nleast workerd CPU per request over the rounds: empty Worker ${cpu.empty.toFixed(0)} µs, OFREP single ${cpu.single.toFixed(0)} µs, `
  + `bulk-100 ${cpu.bulk.toFixed(0)} µs, empty Worker's fixed bulk ${cpu.fixed.toFixed(0)} µs;`);
console.log(`as shares of the empty Worker: OFREP single ${pct(cpu.empty / cpu.single)}, bulk-100 ${pct(cpu.empty / cpu.bulk)} `
  + `(bulk-100 against the fixed bulk answer ${pct(cpu.fixed / cpu.bulk)})`);
if (off) {
  const slow = Math.min(...offRows.map((r) => r.cpu));
  console.log(`OFREP single with the fast path off: least ${slow.toFixed(0)} µs, ${pct(cpu.empty / slow)} of the empty Worker`);
}
const loadavg = (await import('node:os')).loadavg().map((l) => l.toFixed(2)).join(' ');
console.log(`load average at the end: ${loadavg}`);
