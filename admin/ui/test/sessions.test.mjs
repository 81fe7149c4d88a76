// A session's life in the browser, each case on its own admin: an idle session ends and
// the page goes back to sign-in; an admin restart does not lose the change feed (the
// page resumes by Last-Event-ID and follows a change made after the restart).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Admin, until } from '../../../tests/e2e/harness.mjs';
import { axe, openBrowser, screenshot, signIn } from './browser.mjs';

let browser;
const admins = [];

before(async () => {
  browser = await openBrowser();
});

after(async () => {
  await browser?.close();
  for (const admin of admins) await admin.stop();
});

async function adminWith(env) {
  const admin = new Admin();
  admins.push(admin);
  await admin.init();
  await admin.serve({}, env);
  await admin.call('POST', '/v1/projects', { key: 'shop', name: 'Shop' });
  await admin.call('POST', '/v1/projects/shop/environments', { key: 'production', name: 'Production' });
  const flag = { key: 'banner', name: 'Banner', type: 'boolean', variations: [{ key: 'on', value: true }, { key: 'off', value: false }] };
  await admin.call('POST', '/v1/projects/shop/flags', flag);
  return admin;
}

test('an idle session ends, and the page goes back to sign-in', async () => {
  const admin = await adminWith({ EDGEFLAG_SESSION_IDLE_SECS: '2', EDGEFLAG_FEED_HEARTBEAT_SECS: '60' });
  const { page, problems } = await browser.page();
  await signIn(page, admin.url, admin.ownerEmail, admin.ownerPassword);
  await page.getByRole('link', { name: 'Banner' }).waitFor();
  await new Promise((resolve) => setTimeout(resolve, 2500));
  // The next request finds the session over.
  await page.getByRole('link', { name: 'Segments' }).click();
  await page.getByLabel('Email').waitFor();
  await screenshot(page, 'session-expired');
  assert.deepEqual(await axe(page), []);
  const status = await page.evaluate(async () => (await fetch('/v1/auth/session')).status);
  assert.equal(status, 401);
  assert.deepEqual(problems, []);
  await page.close();
});

test('after an admin restart the page resumes the change feed and follows changes', async () => {
  const admin = await adminWith({});
  const { page, problems } = await browser.page();
  await signIn(page, admin.url, admin.ownerEmail, admin.ownerPassword);
  const production = page.getByRole('switch', { name: 'banner in production' });
  await production.waitFor();
  assert.equal(await production.isChecked(), false);
  const heard = () => page.evaluate(() => Number(document.documentElement.dataset.feed ?? 0));
  await until('the page to follow the feed', async () => (await heard()) > 0);
  const before = await heard();
  await admin.kill();
  await admin.serve({}, {}, admin.port);
  await admin.call('POST', '/v1/projects/shop/flags/banner/environments/production/toggle', { enabled: true });
  await until('the switch to follow a change made after the restart', () => production.isChecked(), 15000, 100);
  assert.ok((await heard()) > before, 'the page heard the change through the feed');
  assert.deepEqual(problems.filter((p) => !/EventSource|ERR_CONNECTION_REFUSED/.test(p)), []);
  await page.close();
});
