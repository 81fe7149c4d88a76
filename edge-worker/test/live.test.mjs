// Live updates on local workerd: OFREP answers point at an event stream; the stream is
// refused (401) without a valid token, limited per credential (429), sends heartbeats,
// tells every connected client about a publish, and lets a client that missed versions
// (a dropped connection, a restarted edge, a Durable Object that lost its memory)
// resume with Last-Event-ID. A body over the limit is refused before it is read.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Miniflare } from 'miniflare';
import {
  demoSnapshot, freePort, keysFor, ofrep, openStream, publish, publishBody, publisher, startWorker, workerOptions,
} from './helpers.mjs';

const signer = publisher();
const SERVER = 'srv_live';
const CLIENT = 'cli_live';
const ENV = 'live';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const started = [];
after(async () => {
  for (const mf of started) await mf.dispose();
});

async function worker(bindings = {}, extra = {}) {
  const w = await startWorker([signer], bindings, extra);
  started.push(w.mf);
  return w;
}

async function publishVersion(url, version) {
  const res = await publish(url, ENV, publishBody(signer, demoSnapshot(ENV, version), keysFor(SERVER, CLIENT)));
  assert.equal(res.status, 200, JSON.stringify(res.body));
}

async function streamUrl(url) {
  const body = await (await ofrep(url, SERVER, undefined, { targetingKey: 'u1' })).json();
  assert.ok(Array.isArray(body.eventStreams), JSON.stringify(body));
  return body.eventStreams[0].url;
}

async function until(what, check, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('event streams', () => {
  it('are named in OFREP answers and tell connected clients about each publish', async () => {
    const { url } = await worker();
    await publishVersion(url, 1);
    const bulk = await (await ofrep(url, SERVER, undefined, { targetingKey: 'u1' })).json();
    assert.deepEqual(bulk.eventStreams.map((s) => [s.type, s.inactivityDelaySec]), [['sse', 120]]);
    const link = bulk.eventStreams[0].url;
    assert.ok(link.startsWith(`${url}/v1/events?token=`), link);
    assert.ok(!link.includes(SERVER));
    const single = await (await ofrep(url, SERVER, 'new-checkout', { targetingKey: 'u1' })).json();
    assert.equal(single.eventStreams[0].url, link);

    const streams = await Promise.all([openStream(link), openStream(link), openStream(link)]);
    for (const s of streams) {
      assert.equal(s.status, 200);
      assert.equal(s.headers.get('content-type'), 'text/event-stream');
      assert.equal(s.headers.get('access-control-allow-origin'), '*');
    }
    await until('the preambles', () => streams.every((s) => s.text.startsWith('retry: ')));
    assert.ok(streams.every((s) => s.events.length === 0), 'an up-to-date client gets no event');
    await publishVersion(url, 2);
    await until('the event at every client', () => streams.every((s) => s.events.length === 1));
    // Each event carries the version's signed client snapshot: what the snapshot endpoint serves.
    const served = await (await fetch(`${url}/.well-known/flags/${CLIENT}`)).text();
    assert.match(served, /^[\w-]+\.[\w-]+\.[\w-]+$/);
    for (const s of streams) {
      assert.deepEqual(
        s.events.map((e) => [e.id, e.data.type, e.data.etag, e.data.clientSnapshot]),
        [['2', 'refetchEvaluation', '"2"', served]],
      );
    }
    await publishVersion(url, 3);
    await until('the second event', () => streams.every((s) => s.events.length === 2));
    assert.equal(streams[0].events[1].id, '3');
    for (const s of streams) s.close();
  });

  it('refuse a bad or expired token with 401 before any stream opens', async () => {
    const { url } = await worker({ EDGEFLAG_TEST_CLOCK: 'true' });
    await publishVersion(url, 1);
    const link = await streamUrl(url);
    const token = new URL(link).searchParams.get('token');
    const refused = [
      `${url}/v1/events`,
      `${url}/v1/events?token=${token.slice(0, -2)}AA`,
      `${url}/v1/events?token=${SERVER}`,
    ];
    for (const bad of refused) {
      const s = await openStream(bad);
      assert.equal(s.status, 401, bad);
      assert.equal(JSON.parse(s.body).error.code, 'UNAUTHORIZED');
      assert.ok(!s.body.includes(token));
    }
    const inAnHour = String(Date.now() + 3_600_000);
    const expired = await openStream(link, { 'x-edgeflag-test-now': inAnHour });
    assert.equal(expired.status, 401);
    assert.match(JSON.parse(expired.body).error.message, /expired/);
  });

  it('hold a connection limit per credential (429) and send heartbeats to idle streams', async () => {
    const { url } = await worker({ EDGEFLAG_STREAM_LIMIT: '2', EDGEFLAG_STREAM_HEARTBEAT_MS: '100' });
    await publishVersion(url, 1);
    const link = await streamUrl(url);
    const [a, b] = [await openStream(link), await openStream(link)];
    const third = await openStream(link);
    assert.equal(third.status, 429, third.body);
    assert.equal(JSON.parse(third.body).error.code, 'TOO_MANY_STREAMS');
    assert.equal(third.headers.get('access-control-allow-origin'), '*');
    // Another credential of the same environment has its own allowance.
    const clientLink = (await fetch(`${url}/.well-known/flags/${CLIENT}`)).headers.get('edgeflag-event-stream');
    const other = await openStream(clientLink);
    assert.equal(other.status, 200);
    await until('two heartbeats', () => a.text.split(':\n\n').length >= 3);
    // The first stream (whose request started the heartbeat loop) leaves; the others
    // keep their heartbeats, and its place is free again.
    a.close();
    const beats = b.text.split(':\n\n').length;
    await until('more heartbeats after the first stream left', () => b.text.split(':\n\n').length >= beats + 3);
    await until('a freed place', async () => {
      const s = await openStream(link);
      s.close?.();
      return s.status === 200;
    });
    b.close();
    other.close();
  });

  it('let a reconnecting client resume with Last-Event-ID, across a restart of the edge', async () => {
    const port = await freePort();
    const persist = mkdtempSync(join(tmpdir(), 'edgeflag-live-'));
    const options = workerOptions([signer], { EDGEFLAG_STREAM_HEARTBEAT_MS: '200' }, { port, kvPersist: persist });
    const mf = new Miniflare(options);
    started.push(mf);
    const url = (await mf.ready).toString().replace(/\/$/, '');
    try {
      await publishVersion(url, 1);
      const link = await streamUrl(url);
      // A client behind the current version gets the event at once.
      await publishVersion(url, 2);
      const behind = await openStream(link, { 'last-event-id': '1' });
      await until('the missed event', () => behind.events.length === 1);
      assert.equal(behind.events[0].id, '2');
      // The `v` in the URL stands for Last-Event-ID on a first connection.
      const first = await openStream(link);
      await until('the event for the URL\'s stale version', () => first.events.length === 1);
      behind.close();
      first.close();

      // The edge restarts (its Durable Object loses its memory); meanwhile version 3
      // is published. The client reconnects with the last id it saw.
      const connected = await openStream(link, { 'last-event-id': '2' });
      await until('the preamble', () => connected.text.length > 0);
      await publishVersion(url, 3);
      await until('version 3', () => connected.events.length === 1);
      connected.close();
      await mf.setOptions(options);
      await until('the stream to end with the restart', () => connected.ended);
      await publishVersion(url, 4);
      await mf.setOptions(options); // and once more, so no object remembers version 4
      const resumed = await openStream(link, { 'last-event-id': '3' });
      assert.equal(resumed.status, 200);
      await until('version 4 after the restart', () => resumed.events.length === 1);
      assert.equal(resumed.events[0].id, '4');
      resumed.close();
    } finally {
      rmSync(persist, { recursive: true, force: true });
    }
  });
});

describe('bodies over the limit', () => {
  /** Sends `total` bytes of publish body, chunked and without Content-Length unless `declare`. */
  function upload(url, total, declare) {
    return new Promise((resolve, reject) => {
      const target = new URL(`${url}/publish/v1/environments/${ENV}`);
      const headers = { 'content-type': 'application/json' };
      if (declare) headers['content-length'] = String(total);
      const req = http.request({ host: target.hostname, port: target.port, path: target.pathname, method: 'PUT', headers });
      let sent = 0;
      let answered = false;
      const chunk = Buffer.alloc(256 * 1024, 0x20);
      req.on('response', (res) => {
        answered = true;
        let body = '';
        res.on('data', (d) => { body += d; });
        res.on('end', () => {
          req.destroy();
          resolve({ status: res.statusCode, body, sent });
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

  it('are refused on Content-Length before reading, and otherwise at the limit', async () => {
    const { url } = await worker();
    const limit = 40 * 1024 * 1024;
    const declared = await upload(url, 64 * 1024 * 1024, true);
    assert.equal(declared.status, 413, declared.body);
    assert.equal(JSON.parse(declared.body).error.code, 'PAYLOAD_TOO_LARGE');
    assert.ok(declared.sent < 16 * 1024 * 1024, `the client had sent ${declared.sent} bytes before the answer`);
    const chunked = await upload(url, 256 * 1024 * 1024, false);
    assert.equal(chunked.status, 413, chunked.body);
    assert.ok(chunked.sent < limit + 32 * 1024 * 1024, `the client had sent ${chunked.sent} bytes before the answer`);
    // The Worker still answers normally afterwards.
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
  });
});
