// Profiles the Worker under load with Linux `perf` on local workerd: V8 writes a
// perf map (`--perf-basic-prof`), so JavaScript and the wasm's functions (named from
// the module's name section) appear by name beside workerd's own code.
// Run: `node bench/profile.mjs single|bulk|empty [seconds]` (`BENCH_BUILD` as in load.mjs), then
// `perf report -i /tmp/edgeflag-worker.perf.data --no-children --sort symbol`.
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { Miniflare } from 'miniflare';
import { here, keysFor, publish, publishBody, publisher, startWorker } from '../test/helpers.mjs';

process.env.MINIFLARE_WORKERD_V8_FLAGS = '--perf-basic-prof --interpreted-frames-native-stack';
const [scenario = 'single', seconds = '10'] = process.argv.slice(2);
const out = process.env.PERF_OUT ?? '/tmp/edgeflag-worker.perf.data';
const workerdPids = () => new Set(
  execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(process.pid)], { encoding: 'utf8' })
    .split('\n').filter((l) => l.includes('workerd')).map((l) => Number(l.trim().split(/\s+/)[0])),
);

const flags = Array.from({ length: 100 }, (_, i) => ({
  key: `flag-${String(i).padStart(5, '0')}`, version: 1, type: 'boolean', enabled: true, offVariation: 'off',
  variations: [{ key: 'on', value: true }, { key: 'off', value: false }],
  rules: [{ id: 'r0', conditions: [{ attribute: 'country', op: 'in', values: ['DE', 'AT', 'CH'] }, { attribute: 'email', op: 'endsWith', values: ['@example.com'] }], serve: { variation: 'on' } }],
  defaultRule: { rollout: { variations: [{ variation: 'on', weight: 50000 }, { variation: 'off', weight: 50000 }] } },
}));
const snapshot = { schemaVersion: 1, environment: 'bench', version: 1, generatedAt: '2026-11-25T12:00:00Z', flags, segments: [] };
const context = { targetingKey: 'user-42', country: 'NZ', email: 'ada@example.org', plan: 'free' };

const before = workerdPids();
let worker;
if (scenario === 'empty') {
  const mf = new Miniflare({ modules: true, scriptPath: join(here, '..', 'bench', 'empty-worker.mjs'), compatibilityDate: '2026-07-30', cf: false, host: '127.0.0.1', port: 0 });
  worker = { mf, url: (await mf.ready).toString().replace(/\/$/, '') };
} else {
  const signer = publisher();
  // `BENCH_BUILD=<an edge-worker/build directory>` profiles another build, as in load.mjs.
  const build = process.env.BENCH_BUILD;
  const options = build ? { scriptPath: join(build, 'worker', 'shim.mjs'), modulesRoot: build } : {};
  worker = await startWorker([signer], { EDGEFLAG_REFRESH_INTERVAL_MS: '5000' }, options);
  await publish(worker.url, 'bench', publishBody(signer, snapshot, keysFor('srv_bench', 'cli_bench')));
}
const pid = [...workerdPids()].find((p) => !before.has(p));
const path = scenario === 'bulk' ? '/ofrep/v1/evaluate/flags' : '/ofrep/v1/evaluate/flags/flag-00042';
const request = {
  url: `${worker.url}${path}`, method: 'POST', connections: 10,
  headers: { authorization: 'Bearer srv_bench', 'content-type': 'application/json' }, body: JSON.stringify({ context }),
};
await autocannon({ ...request, duration: 2 }); // warm up: the JIT tiers settle before recording
const perf = spawn('perf', ['record', '-F', '999', '-g', '-p', String(pid), '-o', out, '--', 'sleep', seconds], { stdio: 'inherit' });
const result = await autocannon({ ...request, duration: Number(seconds) });
await new Promise((resolve) => perf.on('exit', resolve));
console.log(`${scenario}: ${Math.round(result.requests.average)} req/s, ${result.non2xx} non-2xx; perf data in ${out} (workerd ${pid})`);
await worker.mf.dispose();
