// The client through the node entry: fetching from an edge on 127.0.0.1, verifying,
// refusing bad snapshots while keeping the last good one, ETag refreshes and change events.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createClient, EdgeflagError } from '../dist/node.js';
import { snapshot } from './fixtures.mjs';
import { publisher, startEdge } from './helpers.mjs';

const CLIENT_KEY = 'cli_test_123';
const signer = publisher('k1');
const impostor = publisher('k1');
const stranger = publisher('k2');
let edge;

before(async () => {
  edge = await startEdge({ clientKey: CLIENT_KEY, jwks: { keys: [signer.jwk] } });
});
after(() => edge.close());

const fromEdge = (extra = {}) => createClient({ url: edge.url, clientKey: CLIENT_KEY, refreshIntervalMs: 0, ...extra });

async function refused(client, token) {
  edge.serve(token);
  const error = await client.refresh().then(() => null, (e) => e);
  assert.ok(error instanceof EdgeflagError, `expected a refusal, got ${error}`);
  return error.code;
}

describe('fetching from the edge', () => {
  it('trusts the edge JWKS, verifies, and evaluates with defaults', async () => {
    edge.serve(signer.sign(snapshot(10)));
    const client = await fromEdge({ context: { targetingKey: 'u1', plan: 'beta' } });
    assert.equal(client.version, 10);
    assert.equal(client.environment, 'production');
    assert.equal(client.getBooleanValue('banner', false), true);
    assert.equal(client.getBooleanValue('banner', true, { targetingKey: 'u2' }), false);
    assert.equal(client.getStringValue('title', 'x'), 'Welcome');
    assert.equal(client.getNumberValue('limit', 0), 10);
    assert.deepEqual(client.getObjectValue('layout', {}), { columns: 3 });
    const details = client.getBooleanDetails('banner', false);
    assert.deepEqual(details, {
      flagKey: 'banner', value: true, variant: 'on', reason: 'TARGETING_MATCH', ruleIndex: 0, ruleId: 'beta', flagVersion: 3,
    });
    const missing = client.getStringDetails('nope', 'fallback');
    assert.equal(missing.value, 'fallback');
    assert.equal(missing.errorCode, 'FLAG_NOT_FOUND');
    const mismatch = client.getNumberDetails('banner', 7);
    assert.deepEqual([mismatch.value, mismatch.errorCode], [7, 'TYPE_MISMATCH']);
    assert.equal(client.getBooleanDetails('banner', true, 'not an object').errorCode, 'INVALID_CONTEXT');
    assert.deepEqual(Object.keys(client.evaluateAll()), ['banner', 'layout', 'limit', 'title']);
    assert.deepEqual(client.flags().map((f) => [f.key, f.type]), [['banner', 'boolean'], ['layout', 'object'], ['limit', 'number'], ['title', 'string']]);
    client.close();
  });

  it('revalidates with If-None-Match: a 304 changes nothing', async () => {
    edge.serve(signer.sign(snapshot(11)));
    const client = await fromEdge();
    edge.requests.length = 0;
    const status = await client.refresh();
    assert.equal(status.changed, false);
    assert.equal(edge.requests.length, 1);
    assert.match(edge.requests[0].ifNoneMatch ?? '', /^".+"$/);
    assert.equal(client.version, 11);
    client.close();
  });

  it('announces which flags a new snapshot changed for the current context', async () => {
    edge.serve(signer.sign(snapshot(20)));
    const client = await fromEdge({ context: { targetingKey: 'u1' } });
    const events = [];
    client.on('change', (e) => events.push(e));
    edge.serve(signer.sign(snapshot(21)));
    assert.equal((await client.refresh()).changed, true);
    assert.deepEqual(events, [], 'a new version with the same answers is not a change');
    edge.serve(signer.sign(snapshot(22, { fallback: 'on' })));
    await client.refresh();
    assert.deepEqual(events, [{ flags: ['banner'], version: 22 }]);
    assert.equal(client.getBooleanValue('banner', false), true);
    client.close();
  });

  it('follows a signing-key rotation through the edge JWKS, but never widens pinned keys', async () => {
    const jwks = { keys: [signer.jwk] };
    const rotating = await startEdge({ clientKey: CLIENT_KEY, jwks });
    rotating.serve(signer.sign(snapshot(40)));
    const options = { url: rotating.url, clientKey: CLIENT_KEY, refreshIntervalMs: 0 };
    const client = await createClient(options);
    const pinned = await createClient({ ...options, publicKeys: [signer.jwk] });
    const next = publisher('k3');
    jwks.keys.push(next.jwk);
    rotating.serve(next.sign(snapshot(41)));
    assert.equal((await client.refresh()).version, 41);
    await assert.rejects(pinned.refresh(), { code: 'UNKNOWN_KEY' });
    assert.equal(pinned.version, 40);
    client.close();
    pinned.close();
    await rotating.close();
  });

  it('refuses tampered, wrong-key, unknown-key, unsigned, older and misdirected snapshots, keeping the last good one', async () => {
    edge.serve(signer.sign(snapshot(30)));
    const client = await fromEdge({ context: { targetingKey: 'u1' } });
    const good = signer.sign(snapshot(31, { fallback: 'on' }));
    const [h, , s] = good.split('.');
    const forged = Buffer.from(JSON.stringify(snapshot(31))).toString('base64url');
    assert.equal(await refused(client, `${h}.${forged}.${s}`), 'BAD_SIGNATURE');
    assert.equal(await refused(client, impostor.sign(snapshot(31))), 'BAD_SIGNATURE');
    assert.equal(await refused(client, stranger.sign(snapshot(31))), 'UNKNOWN_KEY');
    const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'edgeflag-snapshot+jws', kid: 'k1' })).toString('base64url');
    assert.equal(await refused(client, `${none}.${forged}.`), 'BAD_SIGNATURE');
    assert.equal(await refused(client, JSON.stringify(snapshot(31))), 'MALFORMED');
    assert.equal(await refused(client, signer.sign(snapshot(29))), 'STALE_SNAPSHOT');
    assert.equal(await refused(client, signer.sign(snapshot(31), { aud: 'server' })), 'WRONG_SNAPSHOT');
    assert.equal(await refused(client, signer.sign(snapshot(31), { ver: 32 })), 'SNAPSHOT_REFUSED');
    assert.equal(client.version, 30);
    assert.equal(client.getBooleanValue('banner', true), false);
    edge.serve(good);
    await client.refresh();
    assert.equal(client.getBooleanValue('banner', false), true);
    client.close();
  });

  it('reports failed background refreshes as error events', async () => {
    edge.serve(signer.sign(snapshot(40)));
    const client = await fromEdge({ refreshIntervalMs: 20 });
    const errors = [];
    client.on('error', (e) => errors.push(e.code));
    edge.serve(signer.sign(snapshot(39)));
    while (errors.length === 0) await new Promise((r) => setTimeout(r, 10));
    assert.equal(errors[0], 'STALE_SNAPSHOT');
    assert.equal(client.version, 40);
    client.close();
  });
});

describe('bootstrap', () => {
  const offline = () => Promise.reject(new Error('no network in this test'));

  it('serves an embedded signed snapshot with no request', async () => {
    const client = await createClient({ bootstrap: signer.sign(snapshot(5)), publicKeys: [signer.jwk], fetch: offline });
    assert.equal(client.getBooleanValue('banner', true, { plan: 'free' }), false);
    assert.equal(client.version, 5);
    client.close();
  });

  it('refreshes behind a bootstrap from the edge', async () => {
    edge.serve(signer.sign(snapshot(50, { fallback: 'on' })));
    const client = await fromEdge({ bootstrap: signer.sign(snapshot(49)), publicKeys: [signer.jwk] });
    assert.equal(client.version, 49, 'the first answer comes from the bootstrap');
    while (client.version !== 50) await new Promise((r) => setTimeout(r, 5));
    assert.equal(client.getBooleanValue('banner', false), true);
    client.close();
  });

  it('refuses an unverifiable bootstrap and starts without keys or snapshot only with an error', async () => {
    const bad = stranger.sign(snapshot(5));
    await assert.rejects(createClient({ bootstrap: bad, publicKeys: [signer.jwk] }), { code: 'UNKNOWN_KEY' });
    await assert.rejects(createClient({ bootstrap: signer.sign(snapshot(5)) }), { code: 'INVALID_KEYS' });
    await assert.rejects(createClient({ publicKeys: [signer.jwk] }), { code: 'NO_SNAPSHOT' });
    await assert.rejects(createClient({ publicKeys: [{ kty: 'OKP', crv: 'Ed25519', x: 'AA', kid: 'x' }] }), { code: 'INVALID_KEYS' });
  });

  it('accepts only the configured environment and audiences', async () => {
    const token = signer.sign(snapshot(5));
    await assert.rejects(createClient({ bootstrap: token, publicKeys: [signer.jwk], environment: 'staging' }), { code: 'WRONG_SNAPSHOT' });
    const server = signer.sign(snapshot(5), { aud: 'server' });
    const client = await createClient({ bootstrap: server, publicKeys: [signer.jwk], audiences: ['server'] });
    assert.equal(client.version, 5);
    client.close();
  });
});
