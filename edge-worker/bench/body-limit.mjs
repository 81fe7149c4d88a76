// What an oversized publish costs the workerd process: its resident memory before and
// after BENCH_UPLOADS uploads of BENCH_MIB MiB to `PUT /publish/…` (limit 40 MiB), half
// with a Content-Length, half chunked. Run: `node bench/body-limit.mjs` after
// `cargo xtask build-worker`; BENCH_BUILD=<dir> measures another build of the Worker
// (e.g. one from before the limit was enforced while reading).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { publisher, startWorker } from '../test/helpers.mjs';

const UPLOADS = Number(process.env.BENCH_UPLOADS ?? 6);
const MIB = Number(process.env.BENCH_MIB ?? 64);
const build = process.env.BENCH_BUILD;
const extra = build
  ? { scriptPath: join(build, 'worker', 'shim.mjs'), modulesRoot: build, durableObjects: {} }
  : {};
const { mf, url } = await startWorker([publisher()], {}, extra);
const pid = Number(execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(process.pid)], { encoding: 'utf8' })
  .split('\n').find((l) => l.includes('workerd')).trim().split(/\s+/)[0]);
const rss = () => Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]) / 1024;
const hwm = () => Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmHWM:\s+(\d+)/)[1]) / 1024;

function upload(total, declare) {
  return new Promise((resolve, reject) => {
    const target = new URL(`${url}/publish/v1/environments/bench`);
    const headers = { 'content-type': 'application/json' };
    if (declare) headers['content-length'] = String(total);
    const req = http.request({ host: target.hostname, port: target.port, path: target.pathname, method: 'PUT', headers });
    let sent = 0;
    let answered = false;
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    const started = performance.now();
    req.on('response', (res) => {
      answered = true;
      res.resume();
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode, sent, ms: performance.now() - started });
      });
    });
    req.on('error', (e) => (answered ? undefined : reject(e)));
    const pump = () => {
      while (!answered && sent < total) {
        sent += chunk.length;
        if (!req.write(chunk)) return req.once('drain', pump);
      }
      if (!answered) req.end();
    };
    pump();
  });
}

await (await fetch(`${url}/healthz`)).text();
const before = rss();
for (let i = 0; i < UPLOADS; i += 1) {
  const declare = i % 2 === 0;
  const r = await upload(MIB * 1024 * 1024, declare);
  console.log(`${declare ? 'Content-Length' : 'chunked       '}: ${r.status} after ${(r.sent / 1048576).toFixed(0)} MiB sent, ${r.ms.toFixed(0)} ms`);
}
console.log(`workerd RSS ${before.toFixed(0)} MiB before, ${rss().toFixed(0)} MiB after, peak ${hwm().toFixed(0)} MiB (${build ?? 'this build'})`);
await mf.dispose();
