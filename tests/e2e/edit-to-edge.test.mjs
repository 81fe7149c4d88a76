// The spine of the product, across real processes: a flag edit in the admin (SQLite)
// reaches the Worker on local workerd through the publisher, and OpenFeature clients see
// it over OFREP; SDK keys and the signing key rotate with no failed request.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { OpenFeature } from '@openfeature/server-sdk';
import { OFREPProvider } from '@openfeature/ofrep-provider';
import { Admin, ofrep, sleep, startWorker, until } from './harness.mjs';

const PROJECT = 'shop';
const ENV = 'production';
const EDGE_ENV = `${PROJECT}-${ENV}`;
const staff = { targetingKey: 'user-1', email: 'ada@example.com' };
const visitor = { targetingKey: 'user-2', email: 'bob@example.org' };

const admin = new Admin();
let worker;
let serverKey;
let serverKeyId;
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

/** Edits, then polls the edge until `flag` answers `expected` for `context`; returns ms. */
async function editAndObserve(edit, flag, context, expected) {
  const started = performance.now();
  await edit();
  await until(`${flag} = ${JSON.stringify(expected)} at the edge`, async () => {
    const res = await ofrep(worker.url, serverKey, flag, context);
    return res.status === 200 && JSON.stringify(res.body.value) === JSON.stringify(expected);
  }, 15000, 5);
  return performance.now() - started;
}

before(async () => {
  await admin.init();
  worker = await startWorker(admin.cli('jwks').trim());
  await admin.serve(worker.url, { EDGEFLAG_SDK_KEY_GRACE_SECS: '3' });
  await admin.call('POST', '/v1/projects', { key: PROJECT, name: 'Shop' });
  await admin.call('POST', `/v1/projects/${PROJECT}/environments`, { key: ENV, name: 'Production' });
  const created = await admin.call('POST', `/v1/projects/${PROJECT}/environments/${ENV}/sdk-keys`, { kind: 'server' });
  serverKey = created.secret;
  serverKeyId = created.id;
});

after(async () => {
  await admin.stop();
  await worker?.mf.dispose();
  if (timings.length) {
    console.log(`edit -> visible at the edge (ms): ${timings.map((t) => t.toFixed(1)).join(', ')}`);
  }
});

test('a flag created through the REST API is served over OFREP', async () => {
  const ms = await editAndObserve(
    () => admin.call('POST', `/v1/projects/${PROJECT}/flags`, {
      key: 'new-checkout',
      name: 'New checkout',
      type: 'boolean',
      variations: [{ key: 'on', value: true }, { key: 'off', value: false }],
      environments: { [ENV]: targeting('off') },
    }),
    'new-checkout', staff, true,
  );
  timings.push(ms);
  const visitorAnswer = await ofrep(worker.url, serverKey, 'new-checkout', visitor);
  assert.equal(visitorAnswer.status, 200);
  assert.deepEqual(
    [visitorAnswer.body.value, visitorAnswer.body.variant, visitorAnswer.body.reason],
    [false, 'off', 'DEFAULT'],
  );
  const staffAnswer = await ofrep(worker.url, serverKey, 'new-checkout', staff);
  assert.equal(staffAnswer.body.reason, 'TARGETING_MATCH');
});

test('a change is observed by an OpenFeature client, and every edit is quick', async () => {
  OpenFeature.setProvider(new OFREPProvider({ baseUrl: worker.url, headers: [['Authorization', `Bearer ${serverKey}`]] }));
  const client = OpenFeature.getClient();
  assert.equal(await client.getBooleanValue('new-checkout', true, visitor), false);
  for (const variation of ['on', 'off', 'on']) {
    timings.push(await editAndObserve(
      () => admin.call('PUT', `/v1/projects/${PROJECT}/flags/new-checkout/environments/${ENV}`, targeting(variation)),
      'new-checkout', visitor, variation === 'on',
    ));
  }
  const details = await client.getBooleanDetails('new-checkout', false, visitor);
  assert.deepEqual([details.value, details.variant, details.reason], [true, 'on', 'DEFAULT']);
  timings.push(await editAndObserve(
    () => admin.call('POST', `/v1/projects/${PROJECT}/flags/new-checkout/environments/${ENV}/toggle`, { enabled: false }),
    'new-checkout', staff, false,
  ));
  const off = await client.getBooleanDetails('new-checkout', true, staff);
  assert.deepEqual([off.value, off.reason], [false, 'DISABLED']);
  await OpenFeature.close();
  // The publisher records what the edge acknowledged: the newest version, no error.
  const status = await until('the edge target to be up to date', async () => {
    const s = await admin.call('GET', `/v1/projects/${PROJECT}/environments/${ENV}/publish-status`);
    return s.targets[0]?.deliveredVersion === s.latestVersion && s.pendingChanges === 0 && s;
  });
  assert.equal(status.edgeName, EDGE_ENV);
  assert.equal(status.targets.length, 1);
  assert.deepEqual([status.targets[0].kind, status.targets[0].lastError], ['edge', null]);
  const health = await (await fetch(`${worker.url}/healthz`)).json();
  assert.equal(JSON.stringify(health).includes(String(status.latestVersion)), true, JSON.stringify(health));
});

test('a rotated SDK key: old and new both work in the grace period, the old fails after', async () => {
  const rotated = await admin.call(
    'POST', `/v1/projects/${PROJECT}/environments/${ENV}/sdk-keys/${serverKeyId}/rotate`, { graceSeconds: 3 },
  );
  const oldKey = serverKey;
  const newKey = rotated.secret;
  assert.notEqual(newKey, oldKey);
  await until('the new key at the edge', async () => (await ofrep(worker.url, newKey, 'new-checkout', staff)).status === 200);
  const rotatedAt = Date.now();
  assert.equal((await ofrep(worker.url, oldKey, 'new-checkout', staff)).status, 200, 'old key inside its grace period');
  await sleep(Math.max(0, rotatedAt + 3500 - Date.now()));
  const refused = await ofrep(worker.url, oldKey, 'new-checkout', staff);
  assert.equal(refused.status, 401, JSON.stringify(refused.body));
  assert.equal(refused.body.errorCode, 'UNAUTHORIZED');
  assert.equal((await ofrep(worker.url, newKey, 'new-checkout', staff)).status, 200);
  serverKey = newKey;
});

test('the signing key rotates with no failed request', async () => {
  const before = (await (await fetch(`${worker.url}/.well-known/jwks.json`)).json()).keys.map((k) => k.kid);
  let stop = false;
  let requests = 0;
  const failures = [];
  const load = (async () => {
    while (!stop) {
      const res = await ofrep(worker.url, serverKey, 'new-checkout', staff);
      requests += 1;
      if (res.status !== 200) failures.push(res);
    }
  })();
  const rotated = await admin.call('POST', '/v1/signing-keys/rotate');
  const newKid = rotated.kid;
  assert.ok(newKid && !before.includes(newKid), JSON.stringify(rotated));
  // An edit after the rotation is signed by the new key and still reaches the edge.
  timings.push(await editAndObserve(
    () => admin.call('POST', `/v1/projects/${PROJECT}/flags/new-checkout/environments/${ENV}/toggle`, { enabled: true }),
    'new-checkout', visitor, true,
  ));
  const kids = (await (await fetch(`${worker.url}/.well-known/jwks.json`)).json()).keys.map((k) => k.kid);
  assert.ok(kids.includes(newKid), `edge JWKS ${kids} lacks ${newKid}`);
  stop = true;
  await load;
  assert.ok(requests > 10, `only ${requests} requests ran during the rotation`);
  assert.deepEqual(failures, []);
});

test('an admin killed right after an edit delivers it when started again', async () => {
  const edit = admin.call('PUT', `/v1/projects/${PROJECT}/flags/new-checkout/environments/${ENV}`, targeting('off'));
  await edit;
  await admin.kill();
  // The edit is committed with its outbox row; whatever the publisher had done, a new
  // process on the same database must converge on it.
  await admin.serve(worker.url, { EDGEFLAG_SDK_KEY_GRACE_SECS: '3' });
  await until('the edit made before the crash at the edge', async () => {
    const res = await ofrep(worker.url, serverKey, 'new-checkout', visitor);
    return res.status === 200 && res.body.value === false && res.body.variant === 'off';
  });
});

test('the audit log holds every change, newest first', async () => {
  const audit = await admin.call('GET', '/v1/audit?resource=&limit=50');
  const actions = audit.items.map((i) => i.action);
  for (const action of ['flag.create', 'flag.targeting', 'flag.off', 'sdk-key.rotate']) {
    assert.ok(actions.includes(action), `audit lacks ${action}: ${actions}`);
  }
});
