// The OFREP fast path (js/entry.mjs, src/fast.rs) against the workers-rs path, on local
// workerd: the same requests, in the same order, to the Worker with the fast path
// (`EDGEFLAG_FAST_PATH=trace`, which logs each request it answers or hands on) and
// then to the same Worker with it off, on the same address and with the same pinned
// clock, so that every answer must be the same byte for byte: status, every header,
// body. The usage counts the two send to the admin must be equal too.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, it } from 'node:test';
import { demoSnapshot, freePort, keysFor, publish, publishBody, publisher, startWorker } from './helpers.mjs';

const trusted = publisher('publisher-1');
const SERVER = 'srv_fast_test';
const CLIENT = 'cli_fast_test';
const NOW = 1_795_608_000_000;
const SINGLE = '/ofrep/v1/evaluate/flags/new-checkout';
const BULK = '/ofrep/v1/evaluate/flags';
const body = publishBody(trusted, demoSnapshot('production', 1), keysFor(SERVER, CLIENT));

let admin;
let adminUrl;
let port;
const received = { trace: [], off: [] };
let collecting = 'trace';

before(async () => {
  admin = http.createServer((req, res) => {
    let text = '';
    req.on('data', (c) => { text += c; });
    req.on('end', () => {
      received[collecting].push(...JSON.parse(text).items);
      res.writeHead(202, { 'content-type': 'application/json' }).end('{"accepted":1}');
    });
  });
  await new Promise((resolve) => admin.listen(0, '127.0.0.1', resolve));
  adminUrl = `http://127.0.0.1:${admin.address().port}`;
  port = await freePort();
});
after(() => admin?.close());

/**
 * Each request as `[method, path, headers, body]`, the clock pinned unless a case sets
 * it. `etag` is the ETag of the first bulk answer, for a conditional request.
 */
function requests(etag, pass = 1) {
  const auth = { authorization: `Bearer ${SERVER}`, 'content-type': 'application/json' };
  const context = JSON.stringify({ context: { targetingKey: 'user-1', country: 'DE', email: 'ada@example.com' } });
  const later = String(NOW + pass * 120_000);
  return [
    ['POST', SINGLE, auth, context],
    ['POST', BULK, auth, context],
    ['POST', BULK, { ...auth, 'if-none-match': etag ?? '"none"' }, context],
    ['POST', BULK, { ...auth, 'if-none-match': `W/${etag}, "other"` }, context],
    ['POST', '/ofrep/v1/evaluate/flags/checkout-banner', auth, '{}'],
    ['POST', '/ofrep/v1/evaluate/flags/no-such-flag', auth, context],
    ['POST', '/ofrep/v1/evaluate/flags/', auth, context],
    ['POST', '/ofrep/v1/evaluate/flags/new%20checkout?x=1', auth, context],
    ['POST', SINGLE, auth, '{not json'],
    ['POST', SINGLE, auth, '{"context": [1]}'],
    ['POST', SINGLE, auth, '{"context": {"targetingKey": 5}}'],
    ['POST', BULK, auth, '{"context": {}, "surprise": 1}'],
    ['POST', SINGLE, auth, ''],
    ['POST', SINGLE, { ...auth, 'content-type': 'text/plain' }, context],
    // One byte over the limit (workerd answers 413 before reading it; a larger upload
    // could still be in flight when the connection closes).
    ['POST', SINGLE, auth, JSON.stringify({ context: { targetingKey: 'x'.repeat(64 * 1024 - 30) } })],
    ['POST', SINGLE, { ...auth, authorization: `Bearer ${CLIENT}` }, context],
    ['POST', SINGLE, { ...auth, authorization: 'Bearer srv_unknown' }, context],
    ['POST', SINGLE, { ...auth, authorization: 'Basic abc' }, context],
    ['POST', SINGLE, { 'x-api-key': SERVER, 'content-type': 'application/json' }, context],
    ['POST', SINGLE, { 'content-type': 'application/json' }, context],
    ['POST', SINGLE, { ...auth, origin: 'https://app.example.com' }, context],
    ['GET', SINGLE, { authorization: `Bearer ${SERVER}` }, undefined],
    ['OPTIONS', SINGLE, { origin: 'https://app.example.com', 'access-control-request-method': 'POST' }, undefined],
    ['POST', '/v1/evaluate', auth, JSON.stringify({ flags: ['new-checkout'], context: {} })],
    // Past the refresh interval: the cache must read KV, so the fast path hands the
    // request, its body already read, to the workers-rs path.
    ['POST', SINGLE, { ...auth, 'x-edgeflag-test-now': later }, context],
    ['POST', SINGLE, { ...auth, 'x-edgeflag-test-now': later }, context],
  ];
}

/** Runs the whole sequence against a fresh Worker on `port`; every answer, in order. */
async function run(mode) {
  collecting = mode;
  const logs = [];
  const { mf, url } = await startWorker([trusted], {
    EDGEFLAG_FAST_PATH: mode,
    EDGEFLAG_TEST_CLOCK: 'true',
    EDGEFLAG_REFRESH_INTERVAL_MS: '60000',
    EDGEFLAG_USAGE_URL: adminUrl,
    EDGEFLAG_USAGE_KEY: 'efi_fast_test',
    EDGEFLAG_USAGE_INTERVAL_MS: '0',
  }, { port, handleStructuredLogs: ({ message }) => { logs.push(message); } });
  try {
    const res = await fetch(`${url}/publish/v1/environments/production`, {
      method: 'PUT', headers: { 'content-type': 'application/json', 'x-edgeflag-test-now': String(NOW) }, body: JSON.stringify(body),
    });
    assert.equal(res.status, 200, await res.text());
    const answers = [];
    const send = async ([method, path, headers, text]) => {
      const res = await fetch(`${url}${path}`, { method, headers: { 'x-edgeflag-test-now': String(NOW), ...headers }, body: text })
        .catch((error) => { throw new Error(`${method} ${path} (${text?.length} bytes): ${error.cause ?? error}`); });
      const bytes = Buffer.from(await res.arrayBuffer());
      return { request: `${method} ${path}`, status: res.status, headers: [...res.headers], body: bytes.toString('base64') };
    };
    // Once to learn every key (an unknown key is remembered as unknown), then again:
    // now the fast path answers from the cache.
    const first = await send(requests()[1]);
    const etag = first.headers.find(([name]) => name === 'etag')[1];
    for (const request of requests(etag, 1)) answers.push(await send(request));
    const warmFrom = logs.length;
    for (const request of requests(etag, 2)) answers.push(await send(request));
    // The counts go to the admin after the answers: wait until they stop coming.
    for (let seen = -1; seen !== received[mode].length;) {
      seen = received[mode].length;
      await new Promise((r) => setTimeout(r, 500));
    }
    return { answers, logs: logs.slice(warmFrom) };
  } finally {
    await mf.dispose();
  }
}

let fast;
let off;

it('answers every request byte for byte as the workers-rs path does', async () => {
  fast = await run('trace');
  off = await run('off');
  assert.equal(fast.answers.length, off.answers.length);
  for (const [i, answer] of fast.answers.entries()) assert.deepEqual(answer, off.answers[i], answer.request);
  const statuses = new Set(fast.answers.map((a) => a.status));
  for (const status of [200, 304, 400, 401, 403, 404, 405, 413]) assert.ok(statuses.has(status), `a ${status} was compared`);
});

it('answers warm OFREP requests itself and hands on the rest', () => {
  const answered = fast.logs.filter((m) => m.startsWith('edgeflag fast path: answered'));
  const handedOn = fast.logs.filter((m) => m.startsWith('edgeflag fast path: handed on'));
  // Every POST to /ofrep/ with a body within the limit, but the one past the refresh
  // interval (the next, at the same time, is answered from the reloaded cache).
  assert.equal(answered.length, 21, fast.logs.join('\n'));
  assert.equal(handedOn.length, 1, fast.logs.join('\n'));
  assert.ok(answered.some((m) => m.includes(' 304 ')), 'a 304 came from the fast path');
  assert.equal(off.logs.filter((m) => m.startsWith('edgeflag fast path')).length, 0);
});

it('counts the same evaluations as the workers-rs path', async () => {
  const sum = (items) => {
    const counts = {};
    for (const i of items) {
      const k = `${i.environment} ${i.flag} ${i.variant} ${i.reason} ${i.time}`;
      counts[k] = (counts[k] ?? 0) + i.count;
    }
    return counts;
  };
  assert.ok(received.trace.length > 0, 'the fast path sent counts');
  assert.deepEqual(sum(received.trace), sum(received.off));
});
