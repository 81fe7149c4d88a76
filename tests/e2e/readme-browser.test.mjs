// The README's "Evaluate in the browser" section, followed as a new user would: the
// package tarball `cargo xtask pack-js` builds is installed with `npm install <tgz>` into
// an empty directory, the README's page is served next to its `node_modules/` as written
// (only the edge's URL and the client key substituted), and Debian's Chromium opens it
// against the admin's demo flags published to the Worker on local workerd.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { Admin, root, startWorker, until } from './harness.mjs';

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };

/** The ```html block of the README's "Evaluate in the browser" section. */
function readmePage() {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Evaluate in the browser'));
  const page = section.match(/```html\n([\s\S]*?)```/);
  assert.ok(page, 'the README has no html example under "Evaluate in the browser"');
  return page[1];
}

/** A static file server for `dir` on 127.0.0.1, as `python3 -m http.server` would be. */
async function serveDirectory(dir) {
  const server = http.createServer((req, res) => {
    let path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
    if (path.endsWith('/')) path += 'index.html';
    const file = join(dir, path);
    if (!file.startsWith(dir) || !existsSync(file) || !statSync(file).isFile()) {
      res.statusCode = 404;
      return res.end();
    }
    res.setHeader('content-type', TYPES[extname(file)] ?? 'application/octet-stream');
    createReadStream(file).pipe(res);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => server.close() };
}

const admin = new Admin();
const project = mkdtempSync(join(tmpdir(), 'edgeflag-readme-page-'));
let worker;
let site;
let context;
let keys;

before(async () => {
  const printed = admin.cli('seed-demo');
  const after = (label) => printed.split('\n').find((l) => l.startsWith(label))?.slice(label.length).trim();
  keys = { owner: after('owner API key:'), client: after('client SDK key:') };
  assert.ok(keys.owner && keys.client, `seed-demo printed no keys: ${printed}`);
  admin.ownerKey = keys.owner;
  worker = await startWorker(admin.cli('jwks').trim());
  await admin.serve({ worker: worker.url });
  await until('the demo flags at the edge', async () => (await fetch(`${worker.url}/.well-known/flags/${keys.client}`)).ok, 30000, 50);
});

after(async () => {
  await context?.close();
  site?.close();
  await admin.stop();
  await worker?.mf.dispose();
  rmSync(project, { recursive: true, force: true });
});

test('the README page works with the package installed from its tarball', async () => {
  const tarball = process.env.EDGEFLAG_JS_TARBALL;
  assert.ok(tarball && existsSync(tarball), `EDGEFLAG_JS_TARBALL (${tarball}) is not a packed tarball: run through cargo xtask test e2e`);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'my-page', private: true }));
  // The package has no dependencies, so nothing but the tarball is needed.
  execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', tarball], { cwd: project, stdio: 'pipe' });
  assert.ok(existsSync(join(project, 'node_modules', '@edgeflag', 'js', 'dist', 'browser.js')));

  const page = readmePage()
    .replace('http://127.0.0.1:8787', worker.url)
    .replace(/'efc_[A-Za-z0-9_-]+'/, `'${keys.client}'`);
  assert.notEqual(page, readmePage(), 'the README page names no edge URL or client key to substitute');
  writeFileSync(join(project, 'index.html'), `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>checkout</title>\n${page}`);
  site = await serveDirectory(project);

  context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'edgeflag-chromium-')), {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const tab = context.pages()[0] ?? (await context.newPage());
  const errors = [];
  tab.on('pageerror', (e) => errors.push(e.message));
  tab.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  await tab.goto(`${site.url}/`);
  await tab.waitForSelector('#checkout:not([hidden])', { timeout: 15000 }).catch((e) => {
    throw new Error(`the checkout never appeared: ${e.message}; page errors: ${errors.join(' | ')}`);
  });

  // Switched off in the admin, the element hides again: the SDK refreshes when the page
  // becomes visible (as when the user comes back to the tab) and emits `change`.
  await admin.call('POST', '/v1/projects/demo/flags/new-checkout/environments/production/toggle', { enabled: false });
  await until('the page to hide the checkout', async () => {
    await tab.evaluate(() => document.dispatchEvent(new Event('visibilitychange')));
    return tab.$eval('#checkout', (el) => el.hidden);
  }, 30000, 250);
  assert.deepEqual(errors, []);
});
