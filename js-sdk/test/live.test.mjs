// Live updates in node (a streaming fetch): the client follows the edge's event stream,
// refetches on each event with the announced version, coalesces bursts, resumes after a
// drop with Last-Event-ID, fetches a new URL when its token is refused, polls only while
// the stream is down, and its providers emit PROVIDER_CONFIGURATION_CHANGED.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it, mock } from 'node:test';
import { OpenFeature, ProviderEvents } from '@openfeature/web-sdk';
import { createClient } from '../dist/node.js';
import { EventStream, parseEvent } from '../dist/live.js';
import { snapshot } from './fixtures.mjs';
import { publisher, startEdge } from './helpers.mjs';

const CLIENT_KEY = 'cli_live';
const signer = publisher('k1');
let edge;

before(async () => {
  edge = await startEdge({ clientKey: CLIENT_KEY, jwks: { keys: [signer.jwk] } });
});
after(() => edge.close());
beforeEach(() => {
  edge.live = true;
  edge.streamStatus = 200;
  edge.streamToken = 't1';
  edge.dropStreams();
  edge.streams.length = 0;
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(what, check, ms = 5000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (check()) return;
    await sleep(5);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function liveClient(version, extra = {}) {
  edge.serve(signer.sign(snapshot(version)));
  const client = await createClient({ url: edge.url, clientKey: CLIENT_KEY, refreshIntervalMs: 0, context: { targetingKey: 'u1' }, ...extra });
  await until('the stream to open', () => client.live);
  return client;
}

describe('following the event stream', () => {
  it('takes a publish as one change event, with no polling, asking the edge for the announced version', async () => {
    const client = await liveClient(1);
    const changes = [];
    client.on('change', (e) => changes.push(e));
    await until('the catch-up refetch after connecting', () => edge.snapshotFetches().length >= 2);
    const fetchesBefore = edge.snapshotFetches().length;
    edge.serve(signer.sign(snapshot(2, { fallback: 'on' })));
    edge.push(2);
    await until('the change event', () => changes.length === 1);
    assert.deepEqual(changes, [{ flags: ['banner'], version: 2 }]);
    const refetches = edge.snapshotFetches().slice(fetchesBefore);
    assert.equal(refetches.length, 1);
    assert.equal(refetches[0].query, 'flagConfigEtag=2');
    assert.match(refetches[0].ifNoneMatch ?? '', /^".+"$/);
    edge.push(2);
    await sleep(50);
    assert.equal(edge.snapshotFetches().length, fetchesBefore + 1, 'an event for a version held fetches nothing');
    assert.equal(changes.length, 1);
    client.close();
  });

  it('takes the snapshot an event carries without fetching it, and fetches when it cannot take it', async () => {
    const client = await liveClient(1);
    const changes = [];
    client.on('change', (e) => changes.push(e));
    await until('the catch-up refetch after connecting', () => edge.snapshotFetches().length >= 2);
    const fetchesBefore = edge.snapshotFetches().length;
    // The edge's snapshot endpoint still serves version 1: only the event has version 2.
    edge.push(2, signer.sign(snapshot(2, { fallback: 'on' })));
    await until('the change event', () => changes.length === 1);
    assert.deepEqual(changes, [{ flags: ['banner'], version: 2 }]);
    assert.equal(client.getBooleanValue('banner', false), true);
    assert.equal(edge.snapshotFetches().length, fetchesBefore, 'nothing fetched');
    // A carried snapshot that does not verify changes nothing by itself: the client
    // fetches the announced version instead.
    const good = signer.sign(snapshot(3, { fallback: 'off' }));
    const [head, payload, signature] = good.split('.');
    const forged = [head, Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url')), version: 3 }) + ' ').toString('base64url'), signature].join('.');
    edge.serve(good);
    edge.push(3, forged);
    await until('the change event from the fetched snapshot', () => changes.length === 2);
    assert.deepEqual(changes[1], { flags: ['banner'], version: 3 });
    const fetched = edge.snapshotFetches().slice(fetchesBefore);
    assert.deepEqual(fetched.map((r) => r.query), ['flagConfigEtag=3']);
    client.close();
  });

  it('coalesces a burst of events into at most two refetches and one change', async () => {
    const client = await liveClient(10);
    const changes = [];
    client.on('change', (e) => changes.push(e.version));
    await until('the catch-up refetch', () => edge.snapshotFetches().length >= 2);
    const before = edge.snapshotFetches().length;
    edge.serve(signer.sign(snapshot(15, { fallback: 'on' })));
    for (const v of [11, 12, 13, 14, 15]) edge.push(v);
    await until('the change', () => changes.length === 1);
    await sleep(100);
    assert.deepEqual(changes, [15]);
    assert.ok(edge.snapshotFetches().length - before <= 2, `${edge.snapshotFetches().length - before} refetches`);
    client.close();
  });

  it('reconnects with Last-Event-ID after a drop and catches up on what it missed', async () => {
    const client = await liveClient(20);
    edge.serve(signer.sign(snapshot(21)));
    edge.push(21);
    await until('version 21', () => client.version === 21);
    const changes = [];
    client.on('change', (e) => changes.push(e.version));
    // The edge restarts: streams end, and a publish lands while the client is away.
    edge.dropStreams();
    edge.serve(signer.sign(snapshot(22, { fallback: 'on' })));
    await until('the reconnection', () => edge.streams.length >= 2 && client.live);
    assert.equal(edge.streams.at(-1).lastEventId, '21');
    await until('the missed version', () => client.version === 22);
    assert.deepEqual(changes, [22]);
    client.close();
  });

  it('fetches a fresh URL when the edge refuses its token, and polls only while the stream is down', async () => {
    edge.streamStatus = (token) => (token === 't1' ? 401 : 200);
    edge.serve(signer.sign(snapshot(30)));
    const client = await createClient({ url: edge.url, clientKey: CLIENT_KEY, refreshIntervalMs: 40 });
    await until('a first refused attempt', () => edge.streams.length >= 1);
    assert.equal(client.live, false);
    const polled = edge.snapshotFetches().length;
    await sleep(150);
    assert.ok(edge.snapshotFetches().length >= polled + 2, 'polling while the stream is down');
    edge.streamToken = 't2'; // the next snapshot answer names a new URL
    await until('the stream on the new token', () => client.live);
    assert.equal(edge.streams.at(-1).token, 't2');
    await sleep(60);
    const settled = edge.snapshotFetches().length;
    await sleep(200);
    assert.equal(edge.snapshotFetches().length, settled, 'no polling while the stream is up');
    client.close();
  });

  it('stays off the stream when asked to, or when the edge offers none', async () => {
    edge.serve(signer.sign(snapshot(40)));
    const off = await createClient({ url: edge.url, clientKey: CLIENT_KEY, refreshIntervalMs: 0, live: false });
    await sleep(50);
    assert.equal(edge.streams.length, 0);
    off.close();
    edge.live = false;
    const none = await createClient({ url: edge.url, clientKey: CLIENT_KEY, refreshIntervalMs: 0 });
    await sleep(50);
    assert.equal(none.live, false);
    assert.equal(edge.streams.length, 0);
    none.close();
  });

  it('makes the OpenFeature web provider emit PROVIDER_CONFIGURATION_CHANGED', async () => {
    const { EdgeflagWebProvider } = await import('../dist/openfeature/web.js');
    edge.serve(signer.sign(snapshot(50)));
    const client = createClient({ url: edge.url, clientKey: CLIENT_KEY, refreshIntervalMs: 0 });
    await OpenFeature.setProviderAndWait('live-test', new EdgeflagWebProvider(client));
    await OpenFeature.setContext('live-test', { targetingKey: 'u1' });
    const of = OpenFeature.getClient('live-test');
    assert.equal(of.getBooleanValue('banner', true), false);
    await until('the stream', () => edge.open.size > 0);
    const changed = new Promise((resolve) => of.addHandler(ProviderEvents.ConfigurationChanged, resolve));
    edge.serve(signer.sign(snapshot(51, { fallback: 'on' })));
    edge.push(51);
    assert.deepEqual((await changed).flagsChanged, ['banner']);
    assert.equal(of.getBooleanValue('banner', false), true);
    await OpenFeature.close();
    await until('the provider closing its stream', () => edge.open.size === 0);
  });
});

describe('the stream itself', () => {
  it('parses SSE blocks as the spec says', () => {
    assert.deepEqual(parseEvent('id: 3\ndata: {"a":1}\ndata:x\n: comment\nretry: 250'), { id: '3', data: '{"a":1}\nx', retry: 250 });
    assert.deepEqual(parseEvent(':\n'), { id: undefined, data: '', retry: undefined });
  });

  it('backs off exponentially with jitter while the edge is unreachable', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const attempts = [];
      let downs = 0;
      const failing = async () => {
        attempts.push(Date.now());
        throw new Error('connection refused');
      };
      let draw = 0;
      const randoms = [0, 1, 0.5, 0, 1, 0, 0];
      const stream = new EventStream('http://edge.invalid/v1/events?token=t', {
        refetch() {}, up() {}, down() { downs += 1; },
      }, { fetch: failing, random: () => randoms[draw++] ?? 0, eventSource: false });
      const delays = [];
      for (let i = 0; i < 6; i += 1) {
        await new Promise((r) => setImmediate(r));
        const start = attempts.length;
        // Advance in small steps until the next attempt, and note how long it took.
        let waited = 0;
        while (attempts.length === start && waited < 60_000) {
          mock.timers.tick(10);
          waited += 10;
          await new Promise((r) => setImmediate(r));
        }
        delays.push(waited);
      }
      stream.close();
      // Base 1 s doubling to the 30 s cap; half of each delay fixed, half random.
      const expected = [[500, 500], [2000, 2000], [3000, 3000], [4000, 4000], [16000, 16000], [15000, 15000]];
      delays.forEach((d, i) => {
        const [low, high] = expected[i];
        assert.ok(d >= low && d <= high + 10, `attempt ${i + 1} after ${d} ms, expected ${low}–${high}`);
      });
      assert.ok(downs >= 6);
    } finally {
      mock.timers.reset();
    }
  });
});

describe('an edge that lags behind its own event', () => {
  it('is asked again until it serves the announced version', async () => {
    const client = await liveClient(60);
    await until('the catch-up refetch', () => edge.snapshotFetches().length >= 2);
    const before = edge.snapshotFetches().length;
    edge.push(61); // announced, but this edge still serves 60 (another location's store lags)
    await until('a second ask', () => edge.snapshotFetches().length >= before + 2);
    edge.serve(signer.sign(snapshot(61)));
    await until('version 61', () => client.version === 61, 10_000);
    assert.ok(edge.snapshotFetches().slice(before).every((r) => r.query === 'flagConfigEtag=61'));
    client.close();
  });
});
