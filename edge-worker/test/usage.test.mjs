// Evaluation counts on local workerd: the Worker counts every evaluation, sends the
// counts to the admin after the response (waitUntil) with its ingestion key and an
// idempotency key, resends a batch the admin did not acknowledge under the same key,
// and forwards a browser's report made with its client key.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, it } from 'node:test';
import { demoSnapshot, keysFor, ofrep, publish, publishBody, publisher, startWorker } from './helpers.mjs';

const trusted = publisher('publisher-1');
const SERVER = 'srv_usage_test';
const CLIENT = 'cli_usage_test';
let mf;
let url;
let admin;
const received = []; // { key, id, items }
let failNext = 0;

before(async () => {
  admin = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      if (failNext > 0) {
        failNext -= 1;
        received.push({ failed: true, id: req.headers['idempotency-key'] });
        res.writeHead(503).end();
        return;
      }
      received.push({ key: req.headers['x-api-key'], id: req.headers['idempotency-key'], path: req.url, items: JSON.parse(body).items });
      res.writeHead(202, { 'content-type': 'application/json' }).end('{"accepted":1}');
    });
  });
  await new Promise((resolve) => admin.listen(0, '127.0.0.1', resolve));
  const adminUrl = `http://127.0.0.1:${admin.address().port}`;
  ({ mf, url } = await startWorker([trusted], {
    EDGEFLAG_USAGE_URL: adminUrl,
    EDGEFLAG_USAGE_KEY: 'efi_worker_test',
    EDGEFLAG_USAGE_INTERVAL_MS: '0',
  }));
  const res = await publish(url, 'production', publishBody(trusted, demoSnapshot('production', 1), keysFor(SERVER, CLIENT)));
  assert.equal(res.status, 200);
});
after(async () => {
  await mf?.dispose();
  admin?.close();
});

/** Waits until `probe()` is true (the sends happen after the responses). */
async function eventually(what, probe) {
  const deadline = Date.now() + 10_000;
  while (!probe()) {
    assert.ok(Date.now() < deadline, `gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const total = (flag) => received.filter((b) => !b.failed).flatMap((b) => b.items)
  .filter((i) => i.flag === flag).reduce((n, i) => n + i.count, 0);

it('counts each 2xx evaluation once and sends it with the ingestion key', async () => {
  let ok = 0;
  for (let i = 0; i < 25; i += 1) {
    const res = await ofrep(url, SERVER, 'new-checkout', { targetingKey: `user-${i}` });
    if (res.status === 200) ok += 1;
    await res.arrayBuffer();
  }
  assert.equal(ok, 25);
  await eventually('25 counts at the admin', () => total('new-checkout') === 25);
  const batch = received.find((b) => !b.failed);
  assert.equal(batch.key, 'efi_worker_test');
  assert.equal(batch.path, '/v1/usage/batches');
  const item = batch.items[0];
  assert.equal(item.environment, 'production');
  assert.equal(item.time % 60_000, 0);
  const ids = received.map((b) => b.id);
  assert.equal(new Set(ids).size, ids.length, 'every batch has its own idempotency key');
});

it('resends a batch the admin did not acknowledge, under the same idempotency key', async () => {
  failNext = 1;
  const before = received.length;
  const res = await ofrep(url, SERVER, 'banner-color', { targetingKey: 'u' });
  await res.arrayBuffer();
  await eventually('a refused send', () => received.slice(before).some((b) => b.failed));
  const failedId = received.slice(before).find((b) => b.failed).id;
  // The next request's send carries the kept batch along.
  await (await ofrep(url, SERVER, 'new-checkout', { targetingKey: 'v' })).arrayBuffer();
  await eventually('the resend', () => received.some((b) => !b.failed && b.id === failedId));
});

it('forwards the counts a browser reports with its client key', async () => {
  const report = { counts: [{ flag: 'sdk-only', variant: 'on', reason: 'STATIC', time: Date.now(), count: 7 }] };
  const res = await fetch(`${url}/v1/usage/${CLIENT}`, {
    method: 'POST', headers: { 'content-type': 'text/plain;charset=UTF-8' }, body: JSON.stringify(report),
  });
  assert.equal(res.status, 202, await res.text());
  await eventually('the browser counts at the admin', () => total('sdk-only') === 7);
  const refused = await fetch(`${url}/v1/usage/${SERVER}`, { method: 'POST', body: JSON.stringify(report) });
  assert.equal(refused.status, 403);
});
