// The browser side of the Chromium suite: the package's browser entry (the wasm is
// fetched and compiled here) and the real OpenFeature web SDK, driven from node.
import { OpenFeature } from '@openfeature/web-sdk';
import { createClient } from '/dist/browser.js';
import { EdgeflagWebProvider } from '/dist/openfeature/web.js';
import { compareAudiences } from '/test/admin-snapshots-core.mjs';
import { runVectors } from '/test/vectors-core.mjs';

async function roundTrip({ bootstrap, clientKey, jwk }) {
  const client = await createClient({ bootstrap, url: location.origin, clientKey, publicKeys: [jwk], refreshIntervalMs: 0 });
  const first = { version: client.version, banner: client.getBooleanValue('banner', true, { plan: 'free' }) };
  while (client.version === first.version) await new Promise((r) => setTimeout(r, 5));
  const second = { version: client.version, banner: client.getBooleanValue('banner', false, { plan: 'free' }) };
  client.close();
  return { first, second };
}

async function visibility({ clientKey, jwk }) {
  const client = await createClient({ url: location.origin, clientKey, publicKeys: [jwk], refreshIntervalMs: 0 });
  const before = client.version;
  const changed = new Promise((resolve) => client.on('change', resolve));
  await fetch('/test/serve-next'); // the edge now serves a newer snapshot
  document.dispatchEvent(new Event('visibilitychange')); // the page is visible again
  const event = await changed;
  client.close();
  return { before, after: event.version, flags: event.flags };
}

async function live({ clientKey, jwk }) {
  // Count the EventSources the client makes: in a browser it must use the native one.
  let eventSources = 0;
  const Native = window.EventSource;
  window.EventSource = class extends Native {
    constructor(...args) {
      super(...args);
      eventSources += 1;
    }
  };
  try {
    const client = await createClient({ url: location.origin, clientKey, publicKeys: [jwk], refreshIntervalMs: 0 });
    const deadline = Date.now() + 5000;
    while (!client.live && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const connected = client.live;
    const changed = new Promise((resolve) => client.on('change', resolve));
    await fetch('/test/serve-next'); // the edge serves a newer snapshot and announces it on the stream
    const event = await changed;
    client.close();
    return { connected, eventSources, version: event.version, flags: event.flags };
  } finally {
    window.EventSource = Native;
  }
}

async function refusesBootstrap({ bootstrap, jwk }) {
  try {
    await createClient({ bootstrap, publicKeys: [jwk] });
    return 'accepted';
  } catch (e) {
    return e.code;
  }
}

async function openFeature({ clientKey }) {
  // Keys from the edge's JWKS this time, as a page without pinned keys would do.
  const provider = new EdgeflagWebProvider(createClient({ url: location.origin, clientKey, refreshIntervalMs: 0 }));
  await OpenFeature.setProviderAndWait(provider);
  await OpenFeature.setContext({ targetingKey: 'u1', plan: 'beta' });
  const of = OpenFeature.getClient();
  const out = {
    beta: of.getBooleanDetails('banner', false),
    title: of.getStringValue('title', ''),
    missing: of.getNumberDetails('missing', 4),
  };
  await OpenFeature.setContext({ targetingKey: 'u1', plan: 'free' });
  out.free = of.getBooleanValue('banner', true);
  await OpenFeature.close();
  return JSON.parse(JSON.stringify(out));
}

window.edgeflagTests = {
  vectors: (data) => runVectors({ createClient, ...data }),
  compareAudiences: (data) => compareAudiences({ createClient, ...data }),
  roundTrip,
  refusesBootstrap,
  visibility,
  live,
  openFeature,
};
window.edgeflagReady = true;
