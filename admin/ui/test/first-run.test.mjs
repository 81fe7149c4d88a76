// A new organization in the dashboard: no project yet, so the owner creates the first one
// there; and a binary's page and assets as a browser fetches them (gzip, types).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Admin, until } from '../../../tests/e2e/harness.mjs';
import { axe, openBrowser, screenshot, signIn } from './browser.mjs';

const admin = new Admin();
let browser;

before(async () => {
  await admin.init();
  await admin.serve({});
  browser = await openBrowser();
});

after(async () => {
  await browser?.close();
  await admin.stop();
});

test('an owner creates the first project from the dashboard', async () => {
  const { page, problems } = await browser.page();
  await signIn(page, admin.url, admin.ownerEmail, admin.ownerPassword);
  await page.getByRole('heading', { name: 'No projects yet' }).waitFor();
  await screenshot(page, 'first-run');
  assert.deepEqual(await axe(page), []);
  await page.getByLabel('Key').fill('web');
  await page.getByLabel('Name').fill('Web shop');
  await page.getByRole('button', { name: 'Create project' }).click();
  await page.getByRole('heading', { name: 'Flags' }).waitFor();
  await until('the project picker to show the new project', async () => (await page.getByLabel('Project').inputValue()) === 'web');
  const projects = await admin.call('GET', '/v1/projects');
  assert.deepEqual(projects.items.map((p) => p.key), ['web']);
  assert.deepEqual(problems, []);
});

test('assets are served gzipped to browsers that take gzip, with their types', async () => {
  const html = await (await fetch(`${admin.url}/`)).text();
  const files = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
  assert.ok(files.some((f) => f.endsWith('.js')) && files.some((f) => f.endsWith('.css')), html);
  for (const file of files) {
    const plain = await fetch(`${admin.url}${file}`, { headers: { 'accept-encoding': 'identity' } });
    assert.equal(plain.headers.get('content-encoding'), null, file);
    const bytes = (await plain.arrayBuffer()).byteLength;
    // fetch() decodes gzip itself; the header says what was sent.
    const zipped = await fetch(`${admin.url}${file}`, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(zipped.headers.get('content-encoding'), 'gzip', file);
    assert.equal((await zipped.arrayBuffer()).byteLength, bytes, file);
  }
  const missing = await fetch(`${admin.url}/assets/app-00000000.js`);
  assert.equal(missing.status, 404);
});
