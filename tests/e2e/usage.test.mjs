// Evaluation insights across real processes (issue 16): OFREP evaluations at the Worker
// on local workerd are counted in its isolate, sent off the request path (`waitUntil`)
// to the real admin (SQLite) with an ingestion key, and appear in the usage API —
// exactly as many as the 2xx answers the clients received, per variation, within 60 s,
// including the last ones before traffic stops (the Worker's flush timer). The Spin app
// (wasmtime host) counts into the same admin and is held to the same exactness: each
// request parks its counts in the store after its response, and a later request sends
// the parked counts of every 10-second slot that closed 15 s ago (edge/src/usage/parked.rs),
// so the test keeps a trickle of `/healthz` requests going, as traffic would.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ofrep, until } from './harness.mjs';
import { PROJECT, counted, startCounting } from './insights.mjs';

let admin;
let worker;
let spin;
let serverKey;

before(async () => {
  ({ admin, worker, spin, serverKey } = await startCounting({ adminLog: process.env.DEBUG_ADMIN_LOG, spin: true }));
});

after(async () => {
  await worker?.mf.dispose();
  await spin?.stop();
  await admin?.stop();
});

/** Sends `requests` evaluations over 10 connections; the 2xx answers by variant. */
async function evaluate(url, requests) {
  const answered = { on: 0, off: 0 };
  let failed = 0;
  let next = 0;
  await Promise.all(Array.from({ length: 10 }, async () => {
    while (next < requests) {
      const i = next++;
      const res = await ofrep(url, serverKey, 'checkout', { targetingKey: `user-${i % 10}` });
      if (res.status >= 200 && res.status < 300) answered[res.body.variant] += 1;
      else failed += 1;
    }
  }));
  return { answered, failed };
}

test('every 2xx evaluation at the Worker is counted once in the admin, by variation', async () => {
  // The readiness probe's evaluations arrive with no request after them.
  await until('the probe to be counted', async () => (await counted(admin)).total > 0, 60000, 250);
  const start = await counted(admin);
  const { answered, failed } = await evaluate(worker.url, 600);
  assert.equal(failed, 0);
  assert.equal(answered.on, 180, 'three of every ten users are targeted');
  assert.equal(answered.off, 420);
  const sent = Date.now();
  const expected = { on: (start.variants.on ?? 0) + answered.on, off: (start.variants.off ?? 0) + answered.off };
  await until('the admin to count every evaluation', async () => {
    const now = await counted(admin);
    return now.variants.on === expected.on && now.variants.off === expected.off;
  }, 60000, 250);
  console.log(`every count visible ${Date.now() - sent} ms after the last answer`);
  // Nothing more arrives later: no batch was counted twice.
  await new Promise((r) => setTimeout(r, 2000));
  assert.deepEqual((await counted(admin)).variants, expected);
  const last = await admin.call('GET', `/v1/projects/${PROJECT}/usage/last-evaluated`);
  assert.deepEqual(last.items.map((i) => [i.flag, i.environment]), [['checkout', 'production']]);
});

/** A request to the Spin app that counts nothing but collects what is due. */
const tick = async () => { await fetch(`${spin.url}/healthz`); };

/** Ticks the Spin app every 500 ms for `ms`. */
async function trickle(ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    await tick();
    await new Promise((r) => setTimeout(r, 500));
  }
}

test('every 2xx evaluation at the Spin app is counted once in the admin, by variation', async () => {
  // Whatever the Spin app counted while starting (its readiness probes) is sent once its
  // slot has closed: let that happen, and the Worker's last flush land, before the
  // starting point is taken.
  await trickle(27_000);
  const start = await counted(admin);
  const { answered, failed } = await evaluate(spin.url, 300);
  assert.equal(failed, 0);
  assert.deepEqual(answered, { on: 90, off: 210 });
  const sent = Date.now();
  const expected = { on: (start.variants.on ?? 0) + answered.on, off: (start.variants.off ?? 0) + answered.off };
  await until('the admin to count every Spin evaluation', async () => {
    await tick();
    const now = await counted(admin);
    return now.variants.on === expected.on && now.variants.off === expected.off;
  }, 90000, 500);
  console.log(`every Spin count visible ${Date.now() - sent} ms after the last answer (slots of 10 s, sent 15 s after they close)`);
  await trickle(3_000);
  assert.deepEqual((await counted(admin)).variants, expected, 'nothing counted twice');
});
