// Live-update benchmark on local workerd (Miniflare): how many event streams one
// environment holds open, what each costs in memory, how long a publish takes to reach
// the last of many clients, and the CPU an idle stream costs per heartbeat.
// Run: `node bench/live.mjs` (after `cargo xtask build-worker`); BENCHMARKS.md records it.
//   BENCH_STREAMS   streams held open (default 5000)
//   BENCH_FANOUT    clients for the fan-out and idle-CPU runs (default 1000)
//   BENCH_PUBLISHES publishes timed in the fan-out run (default 50)
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { keysFor, publish, publishBody, publisher, startWorker } from '../test/helpers.mjs';

const STREAMS = Number(process.env.BENCH_STREAMS ?? 5000);
const FANOUT = Number(process.env.BENCH_FANOUT ?? 1000);
const PUBLISHES = Number(process.env.BENCH_PUBLISHES ?? 50);
const ENV = 'bench';
const SERVER = 'srv_bench';
const signer = publisher();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function snapshot(version) {
  const flags = Array.from({ length: 20 }, (_, i) => ({
    key: `flag-${i}`, version, type: 'boolean', enabled: true, offVariation: 'off',
    variations: [{ key: 'on', value: true }, { key: 'off', value: false }], defaultRule: { variation: 'on' },
  }));
  return { schemaVersion: 1, environment: ENV, version, generatedAt: '2026-11-25T12:00:00Z', flags, segments: [] };
}

async function publishVersion(url, version) {
  const res = await publish(url, ENV, publishBody(signer, snapshot(version), keysFor(SERVER, 'cli_bench')));
  if (res.status !== 200) throw new Error(JSON.stringify(res.body));
}

/** The workerd process Miniflare started (a child of this process). */
function workerdPid() {
  const out = execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  const line = out.split('\n').find((l) => l.includes('workerd'));
  if (!line) throw new Error(`no workerd child:\n${out}`);
  return Number(line.trim().split(/\s+/)[0]);
}

const rssKiB = (pid) => Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]);
/** User + system CPU of a process, in ms. */
function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (100/s)
}

const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });

/** One SSE client: resolves once the stream's preamble arrived; records event arrival times. */
function connect(link, onEvent) {
  return new Promise((resolve, reject) => {
    const req = http.get(link, { agent, headers: { accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return reject(new Error(`stream answered ${res.statusCode}`));
      }
      const client = { req, res, events: 0, bytes: 0, ended: false };
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        client.bytes += chunk.length;
        buffer += chunk;
        let at;
        while ((at = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, at);
          buffer = buffer.slice(at + 2);
          const id = block.match(/^id: (\d+)$/m)?.[1];
          if (id !== undefined) {
            client.events += 1;
            onEvent?.(Number(id), performance.now());
          }
        }
        if (!client.ready) {
          client.ready = true;
          resolve(client);
        }
      });
      res.on('end', () => { client.ended = true; });
      res.on('error', () => { client.ended = true; });
    });
    req.on('error', reject);
  });
}

async function connectMany(link, count, onEvent) {
  const clients = [];
  let errors = 0;
  for (let i = 0; i < count; i += 200) {
    const batch = await Promise.allSettled(Array.from({ length: Math.min(200, count - i) }, () => connect(link, onEvent)));
    for (const r of batch) {
      if (r.status === 'fulfilled') clients.push(r.value);
      else errors += 1;
    }
  }
  return { clients, errors };
}

const closeAll = (clients) => clients.forEach((c) => c.req.destroy());

async function streamLink(url) {
  const res = await fetch(`${url}/ofrep/v1/evaluate/flags`, {
    method: 'POST', headers: { authorization: `Bearer ${SERVER}`, 'content-type': 'application/json' }, body: '{}',
  });
  return (await res.json()).eventStreams[0].url;
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

// 1. Streams held open, and memory per stream.
{
  const { mf, url } = await startWorker([signer], { EDGEFLAG_STREAM_LIMIT: '1000000', EDGEFLAG_REFRESH_INTERVAL_MS: '5000' });
  await publishVersion(url, 1);
  const link = await streamLink(url);
  const pid = workerdPid();
  await sleep(500);
  const before = rssKiB(pid);
  const started = performance.now();
  const { clients, errors } = await connectMany(link, STREAMS);
  const opened = performance.now() - started;
  await sleep(2000);
  const after = rssKiB(pid);
  // Every stream still works: one publish reaches all of them.
  const got = clients.map((c) => c.events);
  await publishVersion(url, 2);
  await sleep(3000);
  const reached = clients.filter((c, i) => c.events > got[i] && !c.ended).length;
  console.log(`\n## streams held open: ${clients.length} of ${STREAMS} opened in ${(opened / 1000).toFixed(1)} s, ${errors} errors`);
  console.log(`workerd RSS ${(before / 1024).toFixed(1)} MiB -> ${(after / 1024).toFixed(1)} MiB: ${((after - before) / clients.length).toFixed(1)} KiB per stream`);
  console.log(`a publish then reached ${reached} of ${clients.length} open streams`);
  closeAll(clients);
  await mf.dispose();
}

// 2. Fan-out: publish reaching the edge -> the last of FANOUT clients has the event.
{
  const { mf, url } = await startWorker([signer], { EDGEFLAG_STREAM_LIMIT: '1000000', EDGEFLAG_REFRESH_INTERVAL_MS: '5000' });
  await publishVersion(url, 1);
  const link = await streamLink(url);
  const arrivals = new Map();
  const { clients, errors } = await connectMany(link, FANOUT, (version, at) => {
    const list = arrivals.get(version) ?? [];
    list.push(at);
    arrivals.set(version, list);
  });
  const first = [];
  const last = [];
  for (let v = 2; v < 2 + PUBLISHES; v += 1) {
    const sent = performance.now();
    await publishVersion(url, v);
    const deadline = performance.now() + 10_000;
    while ((arrivals.get(v)?.length ?? 0) < clients.length && performance.now() < deadline) await sleep(1);
    const times = arrivals.get(v) ?? [];
    if (times.length < clients.length) throw new Error(`version ${v} reached ${times.length} of ${clients.length}`);
    first.push(Math.min(...times) - sent);
    last.push(Math.max(...times) - sent);
    await sleep(50);
  }
  first.sort((a, b) => a - b);
  last.sort((a, b) => a - b);
  console.log(`\n## fan-out: ${clients.length} clients (${errors} errors), ${PUBLISHES} publishes (PUT sent -> event received)`);
  console.log(`first client: p50 ${percentile(first, 50).toFixed(1)} ms, p99 ${percentile(first, 99).toFixed(1)} ms`);
  console.log(`last client:  p50 ${percentile(last, 50).toFixed(1)} ms, p99 ${percentile(last, 99).toFixed(1)} ms`);
  closeAll(clients);
  await mf.dispose();
}

// 3. CPU of idle streams per heartbeat (heartbeat every second instead of 25 s, to count).
{
  const HEARTBEAT_MS = 1000;
  const SECONDS = 20;
  const { mf, url } = await startWorker([signer], {
    EDGEFLAG_STREAM_LIMIT: '1000000', EDGEFLAG_STREAM_HEARTBEAT_MS: String(HEARTBEAT_MS), EDGEFLAG_REFRESH_INTERVAL_MS: '5000',
  });
  await publishVersion(url, 1);
  const link = await streamLink(url);
  const pid = workerdPid();
  await sleep(1000);
  const idle0 = cpuMs(pid);
  await sleep(SECONDS * 1000);
  const idle = cpuMs(pid) - idle0;
  const { clients } = await connectMany(link, FANOUT);
  await sleep(2000);
  const busy0 = cpuMs(pid);
  const bytes0 = clients.reduce((n, c) => n + c.bytes, 0);
  await sleep(SECONDS * 1000);
  const busy = cpuMs(pid) - busy0;
  const heartbeats = (clients.reduce((n, c) => n + c.bytes, 0) - bytes0) / 3; // ":\n\n"
  console.log(`\n## idle streams: ${clients.length} streams, heartbeat ${HEARTBEAT_MS} ms, ${SECONDS} s`);
  console.log(`workerd CPU ${busy.toFixed(0)} ms (with no stream: ${idle.toFixed(0)} ms); ${heartbeats.toFixed(0)} heartbeats received`);
  console.log(`CPU per stream per heartbeat: ${(((busy - idle) * 1000) / heartbeats).toFixed(1)} µs`);
  closeAll(clients);
  await mf.dispose();
}
