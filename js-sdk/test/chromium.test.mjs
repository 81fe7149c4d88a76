// The SDK in Debian's Chromium: every shared vector through the browser entry (the
// `js-chromium` conformance row), the admin-built client snapshot against its server
// snapshot (admin-snapshots-core.mjs), a signed-bootstrap round trip against the edge's
// client route, the OpenFeature web provider through `@openfeature/web-sdk`, and the
// README's page snippet.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { openPage, pages } from './browser.mjs';
import { snapshot } from './fixtures.mjs';
import { adminSnapshots, demoSnapshot, publisher, sdk, signedLoads, signedVectors, suppressionsFor, vectorFiles, writeConformance } from './helpers.mjs';

const CLIENT_KEY = 'cli_browser';
const signer = publisher('k1');
let browser;

before(async () => {
  browser = await openPage({ clientKey: CLIENT_KEY, jwks: { keys: [signer.jwk] } });
});
after(() => browser?.close());

it('passes every shared vector in Chromium', async () => {
  const files = vectorFiles();
  const data = {
    files,
    tokens: signedVectors(signer, files),
    loadTokens: signedLoads(signer, files),
    jwk: signer.jwk,
    suppressed: suppressionsFor('js-chromium'),
  };
  const { counts, failures } = await browser.page.evaluate((d) => window.edgeflagTests.vectors(d), data);
  writeConformance('js-chromium', counts);
  console.log(`js-chromium vectors: ${JSON.stringify(counts)}`);
  assert.deepEqual(failures, []);
  assert.ok(counts.passed > 500, `only ${counts.passed} vectors passed`);
});

it('answers the admin-built client snapshot as its server snapshot, in Chromium', async () => {
  const fixture = adminSnapshots();
  const { checked, visible, failures } = await browser.page.evaluate((d) => window.edgeflagTests.compareAudiences(d), {
    serverToken: signer.sign(fixture.server),
    clientToken: signer.sign(fixture.client),
    jwk: signer.jwk,
    contexts: fixture.contexts,
  });
  assert.deepEqual(failures, []);
  assert.deepEqual(visible, ['banner', 'plan']);
  assert.equal(checked, fixture.contexts.length * fixture.server.flags.length);
});

it('renders from a signed bootstrap, then takes the newer snapshot from the edge', async () => {
  browser.edge.serve(signer.sign(snapshot(8, { fallback: 'on' })));
  const result = await browser.page.evaluate((d) => window.edgeflagTests.roundTrip(d), {
    bootstrap: signer.sign(snapshot(7)),
    clientKey: CLIENT_KEY,
    jwk: signer.jwk,
  });
  assert.deepEqual(result, { first: { version: 7, banner: false }, second: { version: 8, banner: true } });
  const [h, , s] = signer.sign(snapshot(9)).split('.');
  const forged = Buffer.from(JSON.stringify(snapshot(9, { fallback: 'on' }))).toString('base64url');
  const code = await browser.page.evaluate((d) => window.edgeflagTests.refusesBootstrap(d), {
    bootstrap: `${h}.${forged}.${s}`,
    jwk: signer.jwk,
  });
  assert.equal(code, 'BAD_SIGNATURE');
});

it('refreshes when the page becomes visible again, and announces the change', async () => {
  browser.edge.serve(signer.sign(snapshot(20)));
  browser.edge.onNext = () => browser.edge.serve(signer.sign(snapshot(21, { fallback: 'on' })));
  const out = await browser.page.evaluate((d) => window.edgeflagTests.visibility(d), { clientKey: CLIENT_KEY, jwk: signer.jwk });
  assert.deepEqual(out, { before: 20, after: 21, flags: ['banner'] });
});

it('follows the edge\'s event stream with the browser\'s EventSource, without polling', async () => {
  browser.edge.live = true;
  try {
    browser.edge.serve(signer.sign(snapshot(30)));
    browser.edge.onNext = () => {
      browser.edge.serve(signer.sign(snapshot(31, { fallback: 'on' })));
      browser.edge.push(31);
    };
    const out = await browser.page.evaluate((d) => window.edgeflagTests.live(d), { clientKey: CLIENT_KEY, jwk: signer.jwk });
    assert.deepEqual(out, { connected: true, eventSources: 1, version: 31, flags: ['banner'] });
    assert.ok(browser.edge.snapshotFetches().some((r) => r.query === 'flagConfigEtag=31'));
  } finally {
    browser.edge.live = false;
    browser.edge.dropStreams();
  }
});

it('takes a fresh stream URL when the edge refuses the EventSource\'s token', async () => {
  browser.edge.live = true;
  browser.edge.streams.length = 0;
  browser.edge.streamToken = 'expired';
  browser.edge.streamStatus = (token) => {
    if (token !== 'expired') return 200;
    browser.edge.streamToken = 'fresh'; // the next snapshot answer names a new URL
    return 401;
  };
  try {
    browser.edge.serve(signer.sign(snapshot(40)));
    browser.edge.onNext = () => {
      browser.edge.serve(signer.sign(snapshot(41, { fallback: 'on' })));
      browser.edge.push(41);
    };
    const out = await browser.page.evaluate((d) => window.edgeflagTests.live(d), { clientKey: CLIENT_KEY, jwk: signer.jwk });
    assert.deepEqual(out, { connected: true, eventSources: 2, version: 41, flags: ['banner'] });
    assert.deepEqual(browser.edge.streams.map((s) => s.token), ['expired', 'fresh']);
  } finally {
    browser.edge.live = false;
    browser.edge.streamStatus = 200;
    browser.edge.streamToken = 't1';
    browser.edge.dropStreams();
  }
});

it('serves the OpenFeature web SDK through the provider', async () => {
  browser.edge.serve(signer.sign(snapshot(10)));
  const out = await browser.page.evaluate((d) => window.edgeflagTests.openFeature(d), { clientKey: CLIENT_KEY });
  assert.equal(out.beta.value, true);
  assert.equal(out.beta.reason, 'TARGETING_MATCH');
  assert.equal(out.beta.variant, 'on');
  assert.equal(out.title, 'Welcome');
  assert.equal(out.missing.value, 4);
  assert.equal(out.missing.errorCode, 'FLAG_NOT_FOUND');
  assert.equal(out.free, false);
  assert.deepEqual(browser.logs.filter((l) => l.startsWith('pageerror')), []);
});

it('runs the README page snippet as written', async () => {
  const readme = readFileSync(join(sdk, 'README.md'), 'utf8');
  const html = readme.match(/```html\n([\s\S]*?)```/)?.[1];
  assert.ok(html, 'README.md has no html snippet');
  // The snippet names the edge and client key `cargo xtask up` prints; the stand-in edge has its own.
  const url = html.match(/url: '([^']+)'/)?.[1];
  const key = html.match(/clientKey: '([^']+)'/)?.[1];
  assert.ok(url && key, 'the snippet should name url and clientKey');
  pages.set('/readme.html', html.replace(url, browser.edge.url).replace(key, CLIENT_KEY));
  browser.edge.serve(signer.sign(demoSnapshot(100)));
  await browser.page.goto(`${browser.edge.url}/readme.html`);
  await browser.page.waitForFunction(() => document.querySelector('#checkout')?.hidden === false, null, { timeout: 10_000 });
  assert.deepEqual(browser.logs.filter((l) => l.startsWith('pageerror')), []);
});
