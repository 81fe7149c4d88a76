// Live updates across real processes: an edit in the admin (SQLite) is published to the
// Worker on local workerd, whose Durable Object tells every connected client. Two real
// clients hear it without polling: the published `@openfeature/ofrep-web-provider`
// (0.4.3, default options, node's own EventSource) and the JS SDK in Debian's Chromium
// (the browser's EventSource).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { OFREPWebProvider } from '@openfeature/ofrep-web-provider';
import { OpenFeature, ProviderEvents } from '@openfeature/web-sdk';
import { chromium } from 'playwright-core';
import { Admin, startWorker, until } from './harness.mjs';

const PROJECT = 'live';
const ENV = 'production';
const here = dirname(fileURLToPath(import.meta.url));
const sdkDist = join(here, 'node_modules', '@edgeflag', 'js', 'dist');
const visitor = { targetingKey: 'user-2', email: 'bob@example.org' };

const admin = new Admin();
let worker;
let serverKey;
let clientKey;
let page;
let browser;
let profile;
let pageServer;
const timings = { provider: [], chromium: [] };

function targeting(variation) {
  return { enabled: true, offVariation: 'off', defaultRule: { variation } };
}

const setBanner = (variation) => admin.call(
  'PUT', `/v1/projects/${PROJECT}/flags/banner/environments/${ENV}`, targeting(variation),
);

before(async () => {
  await admin.init();
  worker = await startWorker(admin.cli('jwks').trim());
  await admin.serve({ worker: worker.url });
  await admin.call('POST', '/v1/projects', { key: PROJECT, name: 'Live' });
  await admin.call('POST', `/v1/projects/${PROJECT}/environments`, { key: ENV, name: 'Production' });
  const keys = `/v1/projects/${PROJECT}/environments/${ENV}/sdk-keys`;
  serverKey = (await admin.call('POST', keys, { kind: 'server' })).secret;
  clientKey = (await admin.call('POST', keys, { kind: 'client' })).secret;
  await admin.call('POST', `/v1/projects/${PROJECT}/flags`, {
    key: 'banner', name: 'Banner', type: 'boolean', clientVisible: true,
    variations: [{ key: 'on', value: true }, { key: 'off', value: false }],
    environments: { [ENV]: targeting('off') },
  });
  await until('the flag at the Worker', async () => {
    const res = await fetch(`${worker.url}/ofrep/v1/evaluate/flags/banner`, {
      method: 'POST', headers: { authorization: `Bearer ${serverKey}`, 'content-type': 'application/json' }, body: '{}',
    });
    return res.status === 200;
  });
});

after(async () => {
  await OpenFeature.close();
  await browser?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  await new Promise((resolve) => (pageServer ? pageServer.close(resolve) : resolve()));
  await admin.stop();
  await worker?.mf.dispose();
  for (const [who, ms] of Object.entries(timings)) {
    if (ms.length) console.log(`edit -> change event (${who}, ms): ${ms.map((t) => t.toFixed(0)).join(', ')}`);
  }
});

test('the OFREP web provider, with its default options, hears an admin edit through the Worker', async () => {
  assert.equal(typeof EventSource, 'function', 'run with NODE_OPTIONS=--experimental-eventsource (xtask does)');
  await OpenFeature.setContext(visitor);
  // Default options: no pollInterval (0.4.3 does not poll by default), SSE change detection.
  await OpenFeature.setProviderAndWait(new OFREPWebProvider({
    baseUrl: worker.url,
    headers: [['Authorization', `Bearer ${serverKey}`]],
  }));
  const client = OpenFeature.getClient();
  assert.equal(client.getBooleanValue('banner', true), false);
  for (const variation of ['on', 'off', 'on']) {
    const changed = new Promise((resolve) => {
      const handler = (e) => {
        client.removeHandler(ProviderEvents.ConfigurationChanged, handler);
        resolve(e);
      };
      client.addHandler(ProviderEvents.ConfigurationChanged, handler);
    });
    const started = performance.now();
    await setBanner(variation);
    const event = await Promise.race([changed, new Promise((_, no) => setTimeout(() => no(new Error('no change event in 10 s')), 10_000))]);
    timings.provider.push(performance.now() - started);
    assert.deepEqual(event.flagsChanged, ['banner']);
    assert.equal(client.getBooleanValue('banner', variation !== 'on'), variation === 'on');
  }
});

const TYPES = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html' };

/** Serves the installed SDK and a page that connects to the Worker, on its own origin. */
async function servePage() {
  const html = `<!doctype html><script type="module">
    import { createClient } from '/sdk/browser.js';
    window.changes = [];
    const flags = await createClient({ url: ${JSON.stringify(worker.url)}, clientKey: ${JSON.stringify(clientKey)},
      refreshIntervalMs: 0, context: ${JSON.stringify(visitor)} });
    flags.on('change', (e) => window.changes.push({ ...e, banner: flags.getBooleanValue('banner', false) }));
    window.flags = flags;
    window.ready = true;
  </script>`;
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
    if (path === '/') {
      res.setHeader('content-type', 'text/html');
      return res.end(html);
    }
    if (!path.startsWith('/sdk/')) {
      res.statusCode = 404;
      return res.end();
    }
    try {
      const body = readFileSync(join(sdkDist, path.slice('/sdk/'.length)));
      res.setHeader('content-type', TYPES[extname(path)] ?? 'application/octet-stream');
      res.end(body);
    } catch {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

test('the JS SDK in Chromium hears an admin edit through the Worker, without polling', async () => {
  pageServer = await servePage();
  profile = mkdtempSync(join(tmpdir(), 'edgeflag-e2e-chromium-'));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = browser.pages()[0] ?? (await browser.newPage());
  const logs = [];
  page.on('pageerror', (e) => logs.push(e.message));
  await page.goto(`http://127.0.0.1:${pageServer.address().port}/`);
  await page.waitForFunction(() => window.ready === true && window.flags.live, null, { timeout: 15_000 })
    .catch((e) => { throw new Error(`${e.message}\n${logs.join('\n')}`); });
  assert.equal(await page.evaluate(() => window.flags.getBooleanValue('banner', false)), true);
  for (const [i, variation] of ['off', 'on'].entries()) {
    const started = performance.now();
    await setBanner(variation);
    await page.waitForFunction((n) => window.changes.length === n, i + 1, { timeout: 10_000 });
    timings.chromium.push(performance.now() - started);
  }
  const changes = await page.evaluate(() => window.changes);
  assert.deepEqual(changes.map((c) => [c.flags, c.banner]), [[['banner'], false], [['banner'], true]]);
  assert.deepEqual(logs, []);
});
