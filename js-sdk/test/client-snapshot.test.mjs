// What a client snapshot (schemaVersion 2, docs/snapshot-format.md, "Client snapshots")
// lets the SDK answer: its client-visible flags only, through every surface (typed getters,
// `evaluate`, `evaluateAll`, `flags()`, both OpenFeature providers), while the server-only
// prerequisite they need still decides their answers; people named in it travel hashed.
// And what it refuses: a snapshot it cannot read, keeping the one in use.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { OpenFeature as ServerOpenFeature } from '@openfeature/server-sdk';
import { OpenFeature as WebOpenFeature } from '@openfeature/web-sdk';
import { createClient } from '../dist/node.js';
import { EdgeflagServerProvider } from '../dist/openfeature/server.js';
import { EdgeflagWebProvider } from '../dist/openfeature/web.js';
import { publisher } from './helpers.mjs';

const SALT = 'cL1entSn4pshotTestSalt';
const signer = publisher('k1');

/** The hashed form of a value: BASE64URL(SHA-256(salt ":" value)[0..15]), written here from the spec. */
const hashed = (value) => createHash('sha256').update(`${SALT}:${value}`).digest().subarray(0, 16).toString('base64url');

const bool = [{ key: 'on', value: true }, { key: 'off', value: false }];

/** `banner` is client-visible and needs `server-only-flag`, which names u1 and the `testers` segment (u2). */
function clientSnapshot(version, { schemaVersion = 2 } = {}) {
  return {
    schemaVersion,
    audience: 'client',
    hashSalt: SALT,
    environment: 'production',
    version,
    generatedAt: '2026-11-25T12:00:00Z',
    flags: [
      {
        key: 'banner', version: 2, type: 'boolean', enabled: true, clientVisible: true, variations: bool, offVariation: 'off',
        prerequisites: [{ flag: 'server-only-flag', variation: 'on' }], defaultRule: { variation: 'on' },
      },
      {
        key: 'server-only-flag', version: 7, type: 'boolean', enabled: true, clientVisible: false, variations: bool, offVariation: 'off',
        targets: [{ variation: 'on', hashes: [hashed('u1')] }],
        rules: [{ conditions: [{ op: 'inSegment', values: ['testers'] }], serve: { variation: 'on' } }],
        defaultRule: { variation: 'off' },
      },
    ],
    segments: [{ key: 'testers', includedHashes: [hashed('u2')] }],
  };
}

const start = (token) => createClient({ bootstrap: token, publicKeys: [signer.jwk], refreshIntervalMs: 0 });

describe('a client snapshot', () => {
  after(async () => {
    await ServerOpenFeature.close();
    await WebOpenFeature.close();
  });

  it('answers only client-visible flags: a server-only prerequisite decides, but never answers', async () => {
    const client = await start(signer.sign(clientSnapshot(1)));
    for (const user of ['u1', 'u2']) {
      assert.equal(client.getBooleanValue('banner', false, { targetingKey: user }), true, `${user} is named, hashed, in the prerequisite`);
    }
    const outsider = client.getBooleanDetails('banner', true, { targetingKey: 'u3' });
    assert.deepEqual([outsider.value, outsider.reason, outsider.failedPrerequisite], [false, 'DISABLED', 'server-only-flag']);

    const ctx = { targetingKey: 'u1' };
    const hidden = client.getBooleanDetails('server-only-flag', false, ctx);
    assert.deepEqual([hidden.value, hidden.reason, hidden.errorCode, hidden.variant], [false, 'ERROR', 'FLAG_NOT_FOUND', undefined]);
    assert.equal(client.getBooleanValue('server-only-flag', false, ctx), false, 'the default, not the flag');
    assert.equal(client.getStringDetails('server-only-flag', 'd', ctx).errorCode, 'FLAG_NOT_FOUND', 'not TYPE_MISMATCH, which would tell its type');
    assert.equal(client.evaluate('server-only-flag', ctx).errorCode, 'FLAG_NOT_FOUND');
    assert.deepEqual(Object.keys(client.evaluateAll(ctx)), ['banner']);
    assert.deepEqual(client.flags().map((f) => f.key), ['banner']);
    client.close();
  });

  it('answers FLAG_NOT_FOUND for a server-only prerequisite through both OpenFeature providers', async () => {
    const token = signer.sign(clientSnapshot(2));
    await ServerOpenFeature.setProviderAndWait('client-snapshot', new EdgeflagServerProvider(start(token)));
    const server = ServerOpenFeature.getClient('client-snapshot');
    const ctx = { targetingKey: 'u1' };
    assert.equal(await server.getBooleanValue('banner', false, ctx), true);
    const hidden = await server.getBooleanDetails('server-only-flag', false, ctx);
    assert.deepEqual([hidden.value, hidden.errorCode], [false, 'FLAG_NOT_FOUND']);

    await WebOpenFeature.setProviderAndWait('client-snapshot', new EdgeflagWebProvider(start(token)));
    await WebOpenFeature.setContext('client-snapshot', ctx);
    const web = WebOpenFeature.getClient('client-snapshot');
    assert.equal(web.getBooleanValue('banner', false), true);
    const webHidden = web.getBooleanDetails('server-only-flag', false);
    assert.deepEqual([webHidden.value, webHidden.errorCode], [false, 'FLAG_NOT_FOUND']);
  });

  it('refuses a snapshot it cannot read, and keeps the one in use', async () => {
    const client = await start(signer.sign(clientSnapshot(3)));
    // Hashed values in a schemaVersion 1 snapshot would be ignored by engines that read only 1.
    assert.throws(() => client.update(signer.sign(clientSnapshot(4, { schemaVersion: 1 }))), { code: 'SNAPSHOT_REFUSED' });
    // A schemaVersion this SDK does not know: refused as older SDKs refuse schemaVersion 2.
    assert.throws(() => client.update(signer.sign(clientSnapshot(4, { schemaVersion: 3 }))), {
      code: 'SNAPSHOT_REFUSED',
      message: /`schemaVersion` 3 is not supported/,
    });
    assert.equal(client.version, 3);
    assert.equal(client.getBooleanValue('banner', false, { targetingKey: 'u2' }), true);
    client.close();
  });
});
