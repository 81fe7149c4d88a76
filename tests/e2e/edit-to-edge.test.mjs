// The spine of the product, across real processes: a flag edit in the admin (SQLite)
// reaches the Worker on local workerd and the Spin app in the wasmtime host through the
// publisher; OpenFeature clients see it over OFREP and the JS SDK (the browser's engine,
// here in node) sees it in the signed client snapshot; SDK keys and the signing key
// rotate with no failed request; a killed admin converges.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createClient } from '@edgeflag/js';
import { OpenFeature } from '@openfeature/server-sdk';
import { OFREPProvider } from '@openfeature/ofrep-provider';
import { Admin, ofrep, sleep, startSpin, startWorker, until } from './harness.mjs';

const PROJECT = 'shop';
const ENV = 'production';
const EDGE_ENV = `${PROJECT}-${ENV}`;
const staff = { targetingKey: 'user-1', email: 'ada@example.com' };
const visitor = { targetingKey: 'user-2', email: 'bob@example.org' };

const admin = new Admin();
let worker;
let spin;
let edges;
let serverKey;
let serverKeyId;
let clientKey;
let browser;
const timings = [];

function targeting(defaultVariation) {
  return {
    enabled: true,
    offVariation: 'off',
    rules: [
      {
        id: 'staff',
        conditions: [{ attribute: 'email', op: 'endsWith', values: ['@example.com'] }],
        serve: { variation: 'on' },
      },
    ],
    defaultRule: { variation: defaultVariation },
  };
}

/** True when every edge answers `flag` = `expected` for `context`. */
async function everyEdgeServes(flag, context, expected) {
  for (const url of [worker.url, spin.url]) {
    const res = await ofrep(url, serverKey, flag, context);
    if (res.status !== 200 || JSON.stringify(res.body.value) !== JSON.stringify(expected)) return false;
  }
  return true;
}

/** Edits, then polls both edges until `flag` answers `expected`; returns the ms it took. */
async function editAndObserve(edit, flag, context, expected) {
  const started = performance.now();
  await edit();
  await until(`${flag} = ${JSON.stringify(expected)} at every edge`,
    () => everyEdgeServes(flag, context, expected), 15000, 5);
  return performance.now() - started;
}

const kidsAt = async (url) => (await (await fetch(`${url}/.well-known/jwks.json`)).json()).keys.map((k) => k.kid);

before(async () => {
  await admin.init();
  const jwks = admin.cli('jwks').trim();
  worker = await startWorker(jwks);
  spin = await startSpin(jwks);
  edges = { worker: worker.url, spin: spin.url };
  await admin.serve(edges, { EDGEFLAG_SDK_KEY_GRACE_SECS: '3' });
  await admin.call('POST', '/v1/projects', { key: PROJECT, name: 'Shop' });
  await admin.call('POST', `/v1/projects/${PROJECT}/environments`, { key: ENV, name: 'Production' });
  const keys = `/v1/projects/${PROJECT}/environments/${ENV}/sdk-keys`;
  const server = await admin.call('POST', keys, { kind: 'server' });
  serverKey = server.secret;
  serverKeyId = server.id;
  clientKey = (await admin.call('POST', keys, { kind: 'client' })).secret;
});

after(async () => {
  browser?.close();
  await admin.stop();
  await spin?.stop();
  await worker?.mf.dispose();
  if (timings.length) {
    console.log(`edit -> visible at every edge (ms): ${timings.map((t) => t.toFixed(1)).join(', ')}`);
  }
});

test('a flag created through the REST API is served over OFREP by the Worker and the Spin app', async () => {
  const ms = await editAndObserve(
    () => admin.call('POST', `/v1/projects/${PROJECT}/flags`, {
      key: 'new-checkout',
      name: 'New checkout',
      type: 'boolean',
      clientVisible: true,
      variations: [{ key: 'on', value: true }, { key: 'off', value: false }],
      environments: { [ENV]: targeting('off') },
    }),
    'new-checkout', staff, true,
  );
  timings.push(ms);
  for (const url of [worker.url, spin.url]) {
    const visitorAnswer = await ofrep(url, serverKey, 'new-checkout', visitor);
    assert.equal(visitorAnswer.status, 200);
    assert.deepEqual(
      [visitorAnswer.body.value, visitorAnswer.body.variant, visitorAnswer.body.reason],
      [false, 'off', 'DEFAULT'],
    );
    const staffAnswer = await ofrep(url, serverKey, 'new-checkout', staff);
    assert.equal(staffAnswer.body.reason, 'TARGETING_MATCH');
  }
});

test('the JS SDK verifies the client snapshot from the Worker and evaluates it locally', async () => {
  browser = await createClient({ url: worker.url, clientKey, refreshIntervalMs: 0, context: visitor });
  assert.equal(browser.environment, EDGE_ENV);
  assert.equal(browser.getBooleanValue('new-checkout', true), false);
  const details = browser.getBooleanDetails('new-checkout', false, staff);
  assert.deepEqual([details.value, details.variant, details.reason, details.ruleId], [true, 'on', 'TARGETING_MATCH', 'staff']);
});

test('a change is observed by an OpenFeature client and by the JS SDK, and every edit is quick', async () => {
  OpenFeature.setProvider(new OFREPProvider({ baseUrl: worker.url, headers: [['Authorization', `Bearer ${serverKey}`]] }));
  const client = OpenFeature.getClient();
  assert.equal(await client.getBooleanValue('new-checkout', true, visitor), false);
  const changes = [];
  browser.on('change', (e) => changes.push(e.flags));
  for (const variation of ['on', 'off', 'on']) {
    timings.push(await editAndObserve(
      () => admin.call('PUT', `/v1/projects/${PROJECT}/flags/new-checkout/environments/${ENV}`, targeting(variation)),
      'new-checkout', visitor, variation === 'on',
    ));
    await browser.refresh();
    assert.equal(browser.getBooleanValue('new-checkout', variation !== 'on'), variation === 'on');
  }
  assert.deepEqual(changes, [['new-checkout'], ['new-checkout'], ['new-checkout']]);
  const details = await client.getBooleanDetails('new-checkout', false, visitor);
  assert.deepEqual([details.value, details.variant, details.reason], [true, 'on', 'DEFAULT']);
  timings.push(await editAndObserve(
    () => admin.call('POST', `/v1/projects/${PROJECT}/flags/new-checkout/environments/${ENV}/toggle`, { enabled: false }),
    'new-checkout', staff, false,
  ));
  const off = await client.getBooleanDetails('new-checkout', true, staff);
  assert.deepEqual([off.value, off.reason], [false, 'DISABLED']);
  await OpenFeature.close();
  // The publisher records what each edge acknowledged: the newest version, no error.
  const status = await until('both edge targets to be up to date', async () => {
    const s = await admin.call('GET', `/v1/projects/${PROJECT}/environments/${ENV}/publish-status`);
    return s.pendingChanges === 0 && s.targets.every((t) => t.deliveredVersion === s.latestVersion) && s;
  });
  assert.equal(status.edgeName, EDGE_ENV);
  assert.deepEqual(status.targets.map((t) => [t.name, t.kind, t.lastError]).sort(), [['spin', 'edge', null], ['worker', 'edge', null]]);
  // The Worker's isolate reports the version it holds; a Spin instance lives for one
  // request and holds nothing between them, so ask it what it serves instead.
  const health = await (await fetch(`${worker.url}/healthz`, { headers: { authorization: `Bearer ${serverKey}` } })).json();
  assert.equal(health.environments[EDGE_ENV]?.version, status.latestVersion, JSON.stringify(health));
  const bulk = await fetch(`${spin.url}/ofrep/v1/evaluate/flags`, {
    method: 'POST',
    headers: { authorization: `Bearer ${serverKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ context: visitor }),
  });
  assert.equal((await bulk.json()).metadata.snapshotVersion, status.latestVersion);
});

test('a rotated SDK key: old and new both work in the grace period, the old fails after', async () => {
  const rotated = await admin.call(
    'POST', `/v1/projects/${PROJECT}/environments/${ENV}/sdk-keys/${serverKeyId}/rotate`, { graceSeconds: 3 },
  );
  const oldKey = serverKey;
  const newKey = rotated.secret;
  assert.notEqual(newKey, oldKey);
  for (const url of [worker.url, spin.url]) {
    await until(`the new key at ${url}`, async () => (await ofrep(url, newKey, 'new-checkout', staff)).status === 200);
  }
  const rotatedAt = Date.now();
  for (const url of [worker.url, spin.url]) {
    assert.equal((await ofrep(url, oldKey, 'new-checkout', staff)).status, 200, `old key inside its grace period at ${url}`);
  }
  await sleep(Math.max(0, rotatedAt + 3500 - Date.now()));
  for (const url of [worker.url, spin.url]) {
    const refused = await ofrep(url, oldKey, 'new-checkout', staff);
    assert.equal(refused.status, 401, JSON.stringify(refused.body));
    assert.equal(refused.body.errorCode, 'UNAUTHORIZED');
    assert.equal((await ofrep(url, newKey, 'new-checkout', staff)).status, 200);
  }
  serverKey = newKey;
});

test('the signing key rotates with no failed request, at both edges and in the SDK', async () => {
  const before = await kidsAt(worker.url);
  let stop = false;
  let requests = 0;
  const failures = [];
  const load = (async () => {
    while (!stop) {
      for (const url of [worker.url, spin.url]) {
        const res = await ofrep(url, serverKey, 'new-checkout', staff);
        requests += 1;
        if (res.status !== 200) failures.push({ url, ...res });
      }
    }
  })();
  const rotated = await admin.call('POST', '/v1/signing-keys/rotate');
  const newKid = rotated.kid;
  assert.ok(newKid && !before.includes(newKid), JSON.stringify(rotated));
  // An edit after the rotation is signed by the new key and still reaches both edges.
  timings.push(await editAndObserve(
    () => admin.call('POST', `/v1/projects/${PROJECT}/flags/new-checkout/environments/${ENV}/toggle`, { enabled: true }),
    'new-checkout', visitor, true,
  ));
  for (const url of [worker.url, spin.url]) {
    const kids = await kidsAt(url);
    assert.ok(kids.includes(newKid), `JWKS at ${url} (${kids}) lacks ${newKid}`);
  }
  // The SDK trusted the Worker's JWKS before the rotation; it follows it to the new key
  // (over its event stream, which has usually delivered the edit already, or this refresh).
  // `true` exists only in snapshots published after the rotation, signed by the new key.
  await browser.refresh();
  await until('the SDK on the snapshot signed by the new key', () => browser.getBooleanValue('new-checkout', false));
  stop = true;
  await load;
  assert.ok(requests > 10, `only ${requests} requests ran during the rotation`);
  assert.deepEqual(failures, []);
});

test('an admin killed right after an edit delivers it to both edges when started again', async () => {
  await admin.call('PUT', `/v1/projects/${PROJECT}/flags/new-checkout/environments/${ENV}`, targeting('off'));
  await admin.kill();
  // The edit is committed with its outbox row; whatever the publisher had done, a new
  // process on the same database must converge on it.
  await admin.serve(edges, { EDGEFLAG_SDK_KEY_GRACE_SECS: '3' });
  await until('the edit made before the crash at every edge', () => everyEdgeServes('new-checkout', visitor, false));
});

test('the audit log holds every change, newest first', async () => {
  const audit = await admin.call('GET', '/v1/audit?limit=100');
  const actions = audit.items.map((i) => i.action);
  for (const action of ['flag.create', 'flag.targeting', 'flag.off', 'flag.on', 'sdk-key.rotate', 'signing-key.rotate']) {
    assert.ok(actions.includes(action), `audit lacks ${action}: ${actions}`);
  }
  const times = audit.items.map((i) => i.at);
  assert.deepEqual(times, [...times].sort().reverse());
});
