// The OpenFeature providers used through the real SDKs: the server provider through
// `@openfeature/server-sdk`, the web provider through `@openfeature/web-sdk` (which
// also runs in node; the Chromium suite runs it in a browser).
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { OpenFeature as ServerOpenFeature, ProviderEvents as ServerEvents } from '@openfeature/server-sdk';
import { OpenFeature as WebOpenFeature } from '@openfeature/web-sdk';
import { createClient } from '../dist/node.js';
import { EdgeflagServerProvider } from '../dist/openfeature/server.js';
import { EdgeflagWebProvider } from '../dist/openfeature/web.js';
import { snapshot } from './fixtures.mjs';
import { publisher, startEdge } from './helpers.mjs';

const CLIENT_KEY = 'cli_of';
const signer = publisher('k1');
let edge;

before(async () => {
  edge = await startEdge({ clientKey: CLIENT_KEY, jwks: { keys: [signer.jwk] } });
});
after(async () => {
  await ServerOpenFeature.close();
  await WebOpenFeature.close();
  await edge.close();
});

it('server provider: per-request contexts, defaults on errors, configuration-changed events', async () => {
  edge.serve(signer.sign(snapshot(1)));
  const client = createClient({ url: edge.url, clientKey: CLIENT_KEY, refreshIntervalMs: 0 });
  await ServerOpenFeature.setProviderAndWait('server-test', new EdgeflagServerProvider(client));
  const of = ServerOpenFeature.getClient('server-test');
  assert.equal(await of.getBooleanValue('banner', false, { targetingKey: 'u1', plan: 'beta' }), true);
  assert.equal(await of.getBooleanValue('banner', true, { targetingKey: 'u2' }), false);
  const details = await of.getBooleanDetails('banner', false, { targetingKey: 'u1', plan: 'beta' });
  assert.equal(details.reason, 'TARGETING_MATCH');
  assert.equal(details.variant, 'on');
  assert.deepEqual(details.flagMetadata, { flagVersion: 3, ruleId: 'beta', ruleIndex: 0 });
  assert.equal(await of.getStringValue('title', ''), 'Welcome');
  assert.equal(await of.getNumberValue('limit', 0), 10);
  assert.deepEqual(await of.getObjectValue('layout', {}), { columns: 3 });
  const mismatch = await of.getStringDetails('banner', 'd');
  assert.deepEqual([mismatch.value, mismatch.errorCode], ['d', 'TYPE_MISMATCH']);
  const missing = await of.getBooleanDetails('nope', true);
  assert.deepEqual([missing.value, missing.errorCode], [true, 'FLAG_NOT_FOUND']);

  const changed = new Promise((resolve) => of.addHandler(ServerEvents.ConfigurationChanged, resolve));
  edge.serve(signer.sign(snapshot(2, { fallback: 'on' })));
  await (await client).refresh();
  assert.deepEqual((await changed).flagsChanged, ['banner']);
  assert.equal(await of.getBooleanValue('banner', false, { targetingKey: 'u2' }), true);
});

it('web provider: static context set through OpenFeature', async () => {
  const client = createClient({ bootstrap: signer.sign(snapshot(3)), publicKeys: [signer.jwk] });
  await WebOpenFeature.setProviderAndWait('web-test', new EdgeflagWebProvider(client));
  await WebOpenFeature.setContext('web-test', { targetingKey: 'u1', plan: 'beta' });
  const of = WebOpenFeature.getClient('web-test');
  assert.equal(of.getBooleanValue('banner', false), true);
  await WebOpenFeature.setContext('web-test', { targetingKey: 'u1', plan: 'free' });
  assert.equal(of.getBooleanValue('banner', true), false);
  assert.equal(of.getBooleanDetails('banner', true).reason, 'DEFAULT');
  assert.equal(of.getNumberDetails('missing', 4).errorCode, 'FLAG_NOT_FOUND');
});
