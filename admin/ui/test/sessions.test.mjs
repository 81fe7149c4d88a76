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

test('a person changes their own password; the old one stops working, other sessions end', async () => {
  const admin = await adminWith({});
  // Another browser (its own cookies) signed in as the same person.
  const second = await openBrowser();
  const other = await second.page();
  await signIn(other.page, admin.url, admin.ownerEmail, admin.ownerPassword);
  const { page, problems } = await browser.page();
  await signIn(page, admin.url, admin.ownerEmail, admin.ownerPassword);
  await page.getByRole('link', { name: 'Your sessions' }).click();
  const form = page.getByRole('region', { name: 'Change your password' });
  await form.getByLabel('Current password').fill('not my password');
  await form.getByLabel('New password', { exact: true }).fill('a much better passphrase');
  await form.getByLabel('New password again').fill('a much better passphrase!');
  await form.getByRole('alert').filter({ hasText: 'The two new passwords differ.' }).waitFor();
  assert.equal(await form.getByRole('button', { name: 'Change password' }).isDisabled(), true);
  await form.getByLabel('New password again').fill('a much better passphrase');
  await form.getByRole('button', { name: 'Change password' }).click();
  // The wrong current password is refused, in the API's words.
  await form.getByRole('alert').waitFor();
  assert.equal(await form.getByRole('status').count(), 0);
  await form.getByLabel('Current password').fill(admin.ownerPassword);
  await form.getByRole('button', { name: 'Change password' }).click();
  await form.getByRole('status').filter({ hasText: 'Your password is changed' }).waitFor();
  await screenshot(page, 'password-changed');
  assert.deepEqual(await axe(page), []);
  // The other browser's session has ended; this one goes on.
  const otherStatus = await other.page.evaluate(async () => (await fetch('/v1/auth/session')).status);
  assert.equal(otherStatus, 401);
  assert.equal(await page.evaluate(async () => (await fetch('/v1/auth/session')).status), 200);
  // Signing in again: the old password is refused, the new one works.
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.getByLabel('Email').fill(admin.ownerEmail);
  await page.getByLabel('Password').fill(admin.ownerPassword);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').waitFor();
  await signIn(page, admin.url, admin.ownerEmail, 'a much better passphrase');
  assert.deepEqual(problems.filter((p) => !/401|Unauthorized|status of 4\d\d/.test(p)), []);
  await page.close();
  await second.close();
});
