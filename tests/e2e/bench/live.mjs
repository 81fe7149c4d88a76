// Edit in the admin -> change event in connected clients, across real processes: the
// admin (SQLite, default 50 ms coalescing window) publishes to the Worker on local
// workerd, and BENCH_CLIENTS clients follow the environment's event stream:
// - BENCH_SDKS (5) are JS SDK clients (node entry: streaming fetch, wasm engine); their
//   `change` event comes after the stream event, a refetch with ETag and verification;
// - the rest are light clients that do what the SDK does on the wire — read the stream,
//   take the signed snapshot the event carries, or refetch it with If-None-Match and the
//   announced version when the event carries none (always, with BENCH_REFETCH_ALWAYS=1) —
//   without verifying, so that one node process can stand in for many browsers and the
//   load on the edge is the real one.
// For BENCH_EDITS edits (a flag toggled through the REST API) it records the time from
// the REST call to each SDK client's change event, and to each light client's event
// and refetched snapshot. Run from tests/e2e after `cargo xtask test e2e` built it all:
//   node bench/live.mjs
import http from 'node:http';
import { createClient } from '@edgeflag/js';
import { Admin, startWorker, until } from '../harness.mjs';

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 1000);
const SDKS = Number(process.env.BENCH_SDKS ?? 5);
const EDITS = Number(process.env.BENCH_EDITS ?? 50);
// BENCH_REFETCH_ALWAYS=1: light clients refetch on every event, as OFREP providers (and
// Edgeflag's SDKs before events carried the snapshot) do.
const REFETCH_ALWAYS = process.env.BENCH_REFETCH_ALWAYS === '1';
const PROJECT = 'bench';
const ENV = 'production';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

let edit; // the edit in flight: { started, events: [], refetched: [], changes: [] }

/** A light client: the stream, and a conditional refetch of the snapshot per event. */
function lightClient(snapshotUrl, streamUrl) {
  return new Promise((resolve, reject) => {
    let etag;
    const refetch = (version) => {
      const headers = etag ? { 'if-none-match': etag } : {};
      http.get(`${snapshotUrl}?flagConfigEtag=${version}`, { agent, headers }, (res) => {
        etag = res.headers.etag ?? etag;
        res.resume();
        res.on('end', () => edit?.refetched.push(performance.now() - edit.started));
      }).on('error', (e) => { if (edit) edit.errors = `${edit.errors ?? ''} ${e.code}`; });
    };
    const req = http.get(streamUrl, { headers: { accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`stream answered ${res.statusCode}`));
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        buffer += chunk;
        let at;
        while ((at = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, at);
          const id = block.match(/^id: (\d+)$/m)?.[1];
          buffer = buffer.slice(at + 2);
          if (id !== undefined) {
            const now = edit ? performance.now() - edit.started : 0;
            edit?.events.push(now);
            // The SDK takes a snapshot the event carries and fetches nothing.
            if (!REFETCH_ALWAYS && block.includes('"clientSnapshot":"')) edit?.refetched.push(now);
            else refetch(id);
          }
        }
        resolve(req);
      });
    });
    req.on('error', reject);
  });
}

const admin = new Admin();
await admin.init();
const worker = await startWorker(admin.cli('jwks').trim());
try {
  await admin.serve({ worker: worker.url }, { EDGEFLAG_PUBLISH_COALESCE_MS: '50' });
  await admin.call('POST', '/v1/projects', { key: PROJECT, name: 'Bench' });
  await admin.call('POST', `/v1/projects/${PROJECT}/environments`, { key: ENV, name: 'Production' });
  const keys = `/v1/projects/${PROJECT}/environments/${ENV}/sdk-keys`;
  const clientKey = (await admin.call('POST', keys, { kind: 'client' })).secret;
  await admin.call('POST', `/v1/projects/${PROJECT}/flags`, {
    key: 'banner', name: 'Banner', type: 'boolean', clientVisible: true,
    variations: [{ key: 'on', value: true }, { key: 'off', value: false }],
    environments: { [ENV]: { enabled: false, offVariation: 'off', defaultRule: { variation: 'on' } } },
  });
  const snapshotUrl = `${worker.url}/.well-known/flags/${clientKey}`;
  await until('the flag at the Worker', async () => (await fetch(snapshotUrl)).status === 200);
  const streamUrl = new URL((await fetch(snapshotUrl)).headers.get('edgeflag-event-stream'), worker.url).href;

  const started = performance.now();
  const sdks = await Promise.all(Array.from({ length: SDKS }, (_, i) => createClient({
    url: worker.url, clientKey, refreshIntervalMs: 0, context: { targetingKey: `user-${i}` },
  })));
  const light = [];
  for (let i = SDKS; i < CLIENTS; i += 100) {
    light.push(...await Promise.all(Array.from({ length: Math.min(100, CLIENTS - i) }, () => lightClient(snapshotUrl, streamUrl))));
  }
  await until('the SDK streams', () => sdks.every((c) => c.live), 30_000, 50);
  console.log(`${CLIENTS} clients (${SDKS} SDK, ${light.length} light) connected in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  for (const c of sdks) c.on('change', () => edit?.changes.push(performance.now() - edit.started));
  await sleep(1000);

  const changes = [];
  const events = [];
  const refetched = [];
  const lastEvent = [];
  const restCalls = [];
  const firstEvent = [];
  for (let e = 0; e < EDITS; e += 1) {
    edit = { started: performance.now(), events: [], refetched: [], changes: [] };
    await admin.call('POST', `/v1/projects/${PROJECT}/flags/banner/environments/${ENV}/toggle`, { enabled: e % 2 === 0 });
    const rest = performance.now();
    await until(`edit ${e} at every client`, () => edit.changes.length === SDKS && edit.refetched.length === light.length, 30_000, 2)
      .catch((error) => {
        throw new Error(`${error.message}: ${edit.changes.length} changes, ${edit.events.length} events, ${edit.refetched.length} refetches, errors:${edit.errors ?? ' none'}`);
      });
    restCalls.push(rest - edit.started);
    firstEvent.push(Math.min(...edit.events));
    changes.push(...edit.changes);
    events.push(...edit.events);
    refetched.push(...edit.refetched);
    lastEvent.push(Math.max(...edit.events));
    await sleep(300);
  }
  const report = (name, list) => {
    list.sort((a, b) => a - b);
    console.log(`${name}: p50 ${percentile(list, 50).toFixed(0)} ms, p99 ${percentile(list, 99).toFixed(0)} ms, max ${list.at(-1).toFixed(0)} ms (${list.length} samples)`);
  };
  console.log(`\n${EDITS} edits, REST call sent -> …`);
  report('SDK change event', changes);
  report('stream event at a light client', events);
  report('light client has refetched', refetched);
  report('stream event at the last of all light clients, per edit', lastEvent);
  report('stream event at the first light client, per edit', firstEvent);
  report('the REST call itself', restCalls);
  for (const c of sdks) c.close();
  for (const r of light) r.destroy();
} finally {
  await admin.stop();
  await worker.mf.dispose();
}
