// Real OpenFeature clients against the Worker on local workerd: the server SDK with
// the OFREP provider, and the web SDK with the OFREP web provider. Both resolve every
// value type, and both see a change after a new publish.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { OFREPProvider } from '@openfeature/ofrep-provider';
import { OFREPWebProvider } from '@openfeature/ofrep-web-provider';
import { OpenFeature as ServerOpenFeature } from '@openfeature/server-sdk';
import { OpenFeature as WebOpenFeature, ProviderEvents as WebEvents } from '@openfeature/web-sdk';
import { demoSnapshot, keysFor, publish, publishBody, publisher, startWorker } from './helpers.mjs';

const signer = publisher();
const SERVER = 'srv_openfeature';
const CLIENT = 'cli_openfeature';
let mf;
let url;

async function publishVersion(version, edit = (doc) => doc) {
  const doc = edit(demoSnapshot('openfeature', version));
  const res = await publish(url, 'openfeature', publishBody(signer, doc, keysFor(SERVER, CLIENT)));
  assert.equal(res.status, 200, JSON.stringify(res.body));
}

before(async () => {
  ({ mf, url } = await startWorker([signer]));
  await publishVersion(1);
});
after(async () => {
  await ServerOpenFeature.close();
  await WebOpenFeature.close();
  await mf?.dispose();
});

const user = { targetingKey: 'user-1', plan: 'beta', address: { country: 'DE' }, appVersion: '4.10.1' };

describe('@openfeature/server-sdk with @openfeature/ofrep-provider', () => {
  it('resolves boolean, string, number and object flags, then sees a new publish', async () => {
    await ServerOpenFeature.setProviderAndWait('edge', new OFREPProvider({
      baseUrl: url,
      headers: [['Authorization', `Bearer ${SERVER}`]],
    }));
    const client = ServerOpenFeature.getClient('edge');

    const checkout = await client.getBooleanDetails('new-checkout', false, user);
    assert.deepEqual([checkout.value, checkout.variant, checkout.reason], [true, 'on', 'TARGETING_MATCH']);
    const banner = await client.getStringDetails('checkout-banner', 'fallback', user);
    assert.deepEqual([banner.value, banner.variant], ['', 'none']);
    const perPage = await client.getNumberDetails('search-results-per-page', 0, user);
    assert.deepEqual([perPage.value, perPage.variant, perPage.reason], [25, 'twenty-five', 'TARGETING_MATCH']);
    const pricing = await client.getObjectDetails('pricing-page', {}, user);
    assert.deepEqual([pricing.value, pricing.reason], [{ layout: 'table', highlight: null }, 'DISABLED']);

    const mismatch = await client.getNumberDetails('new-checkout', 7, user);
    assert.deepEqual([mismatch.value, mismatch.errorCode], [7, 'TYPE_MISMATCH']);
    const missing = await client.getBooleanDetails('no-such-flag', true, user);
    assert.deepEqual([missing.value, missing.errorCode], [true, 'FLAG_NOT_FOUND']);

    await publishVersion(2, (doc) => {
      doc.flags.find((f) => f.key === 'pricing-page').enabled = true;
      return doc;
    });
    const after = await client.getObjectDetails('pricing-page', {}, user);
    assert.deepEqual([after.value, after.variant, after.reason], [{ layout: 'cards', highlight: 'team' }, 'cards', 'STATIC']);
  });
});

describe('@openfeature/web-sdk with @openfeature/ofrep-web-provider', () => {
  it('evaluates in bulk for a static context and sees a new publish', async () => {
    await WebOpenFeature.setContext(user);
    const provider = new OFREPWebProvider({
      baseUrl: url,
      headers: [['Authorization', `Bearer ${SERVER}`]],
      disableVisibilityRefresh: true,
    });
    await WebOpenFeature.setProviderAndWait(provider);
    const client = WebOpenFeature.getClient();

    assert.equal(client.getBooleanValue('new-checkout', false), true);
    assert.equal(client.getNumberValue('search-results-per-page', 0), 25);
    assert.equal(client.getStringDetails('checkout-banner', 'x').variant, 'none');
    assert.deepEqual(client.getObjectValue('pricing-page', {}), { layout: 'cards', highlight: 'team' });

    await publishVersion(3, (doc) => {
      doc.flags.find((f) => f.key === 'search-results-per-page').defaultRule = { variation: 'twenty-five' };
      doc.flags.find((f) => f.key === 'search-results-per-page').rules = [];
      doc.flags.find((f) => f.key === 'new-checkout').enabled = false;
      return doc;
    });
    // A context change makes the web provider re-evaluate in bulk (it also polls, if configured).
    await WebOpenFeature.setContext({ ...user, appVersion: '1.0.0' });
    assert.equal(client.getBooleanValue('new-checkout', true), false);
    assert.equal(client.getBooleanDetails('new-checkout', true).reason, 'DISABLED');
    assert.equal(client.getNumberValue('search-results-per-page', 0), 25);
  });
});

describe('@openfeature/ofrep-web-provider with its default options, live', () => {
  it('hears of a publish through the event stream, without polling', async () => {
    // Node 22 has EventSource behind a flag; xtask runs this suite with it (NODE_OPTIONS).
    assert.equal(typeof EventSource, 'function', 'run with NODE_OPTIONS=--experimental-eventsource');
    const domain = 'live';
    const context = { targetingKey: 'user-9' };
    await WebOpenFeature.setContext(domain, context);
    const provider = new OFREPWebProvider({ baseUrl: url, headers: [['Authorization', `Bearer ${SERVER}`]] });
    await WebOpenFeature.setProviderAndWait(domain, provider);
    const client = WebOpenFeature.getClient(domain);
    const before = client.getBooleanDetails('pricing-page-live', false);
    assert.equal(before.errorCode, 'FLAG_NOT_FOUND');
    // Let the provider finish connecting: 0.4.3 refetches when its stream opens, with no
    // ordering between that refetch and one an event causes, so a publish landing in
    // between can leave the older answer in its cache (seen under load; the edge answered
    // each request with the version it held then).
    await new Promise((resolve) => setTimeout(resolve, 1000));
    // 0.4.3 polls only when given a `pollInterval` (its default is 0): the change can
    // only come over the event stream.
    const changed = new Promise((resolve) => client.addHandler(WebEvents.ConfigurationChanged, resolve));
    await publishVersion(10, (doc) => {
      doc.flags.push({
        key: 'pricing-page-live', type: 'boolean', enabled: true, offVariation: 'off',
        variations: [{ key: 'on', value: true }, { key: 'off', value: false }], defaultRule: { variation: 'on' },
      });
      return doc;
    });
    const event = await Promise.race([changed, new Promise((_, reject) => setTimeout(() => reject(new Error('no change event within 5 s')), 5000))]);
    // The provider heard of the publish over the stream and refetched: the new flag is
    // among the changed ones. What its cache holds afterwards is the provider's own
    // business, and 0.4.3 gets it wrong at times: its refetches are not ordered, so one
    // issued before the publish (the one it makes when its stream opens) can land after
    // the event's and put the older answer back, with no later event to repair it (seen
    // here 2 runs in 5 with the previous session's Worker as well; our JS SDK coalesces
    // its refetches and never takes an older snapshot). So the value is checked against
    // the edge itself, with the same context, rather than in the provider's cache.
    assert.ok(event.flagsChanged.includes('pricing-page-live'), JSON.stringify(event));
    const direct = await fetch(`${url}/ofrep/v1/evaluate/flags/pricing-page-live`, {
      method: 'POST',
      headers: { authorization: `Bearer ${SERVER}`, 'content-type': 'application/json' },
      body: JSON.stringify({ context }),
    });
    assert.equal((await direct.json()).value, true);
    await WebOpenFeature.clearProviders();
  });
});
