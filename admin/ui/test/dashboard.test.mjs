// The dashboard as a person uses it, in Debian's Chromium against a real `edgeflag serve`
// (throwaway SQLite) publishing to the built Worker on local workerd: sign in with an
// email and a password, create a segment and a flag, build a rule on the segment and a rollout, preview
// contexts with the engine in the page, save, toggle, see the Worker's OFREP answer
// change, restore an old version; field-level validation errors; flag metadata; other
// people's changes appearing without a reload (the change feed); users, invitations and
// sessions; a viewer, invited through the dashboard, without edit controls, whom the API
// refuses anyway; a request without the CSRF token refused; a session ended elsewhere
// leads back to sign-in.
// Every page is checked with axe-core and photographed; the main ones are walked with Tab.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Admin, ofrep, startWorker, until } from '../../../tests/e2e/harness.mjs';
import { axe, csrfToken, openBrowser, screenshot, signIn, unreachableByKeyboard } from './browser.mjs';

const PROJECT = 'shop';
const ada = { targetingKey: 'user-9', email: 'ada@example.com' };
const bob = { targetingKey: 'user-2', email: 'bob@example.org' };

const admin = new Admin();
let worker;
let browser;
let page;
let problems;
let serverKey;
let invitationLink;
const visited = [];

/** Checks the page with axe, photographs it, and remembers it. */
async function look(name) {
  await page.waitForLoadState('networkidle').catch(() => {});
  await screenshot(page, name);
  const violations = await axe(page);
  assert.deepEqual(violations, [], `axe on ${name}`);
  visited.push(name);
}

const flagUrl = (flag) => `${admin.url}/#/projects/${PROJECT}/flags/${flag}`;
const cell = (env, column) => page.locator(`tr[data-env="${env}"] td.${column}`);

async function edgeAnswers(context, expected) {
  await until(`the Worker to answer ${JSON.stringify(expected)} for ${context.targetingKey}`, async () => {
    const res = await ofrep(worker.url, serverKey, 'new-checkout', context);
    return res.status === 200 && Object.entries(expected).every(([k, v]) => res.body[k] === v);
  }, 15000, 50);
}

before(async () => {
  await admin.init();
  worker = await startWorker(admin.cli('jwks').trim());
  // A heartbeat a second: a stream whose session ended elsewhere ends within one.
  await admin.serve({ worker: worker.url }, { EDGEFLAG_FEED_HEARTBEAT_SECS: '1' });
  await admin.call('POST', '/v1/projects', { key: PROJECT, name: 'Shop' });
  for (const [key, name] of [['production', 'Production'], ['staging', 'Staging']]) {
    await admin.call('POST', `/v1/projects/${PROJECT}/environments`, { key, name });
  }
  serverKey = (await admin.call('POST', `/v1/projects/${PROJECT}/environments/production/sdk-keys`, { kind: 'server' })).secret;
  browser = await openBrowser();
  ({ page, problems } = await browser.page());
});

after(async () => {
  await browser?.close();
  await admin.stop();
  await worker?.mf.dispose();
  console.log(`pages checked with axe and photographed: ${visited.join(', ')}`);
});

test('the page is served with a strict Content-Security-Policy and cacheable assets', async () => {
  const res = await fetch(`${admin.url}/`, { headers: { 'accept-encoding': 'gzip' } });
  assert.equal(res.status, 200);
  const csp = res.headers.get('content-security-policy');
  assert.match(csp, /script-src 'self' 'wasm-unsafe-eval'/);
  assert.match(csp, /style-src 'self'(;|$)/);
  assert.doesNotMatch(csp, /unsafe-inline/);
  const html = await res.text();
  assert.doesNotMatch(html, /<script>|<style|style=/, 'no inline script or style');
  const js = html.match(/src="(\/assets\/app-[^"]+\.js)"/)?.[1];
  assert.ok(js, html);
  const asset = await fetch(`${admin.url}${js}`);
  assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  assert.equal(asset.headers.get('content-type'), 'text/javascript; charset=utf-8');
});

test('sign in with an email and a password', async () => {
  await page.goto(`${admin.url}/`);
  await page.getByLabel('Email').waitFor();
  await look('sign-in');
  await page.getByLabel('Email').fill(admin.ownerEmail);
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'the email address or the password is not right' }).waitFor();
  assert.deepEqual(await unreachableByKeyboard(page), []);
  await signIn(page, admin.url, admin.ownerEmail, admin.ownerPassword);
  await page.getByRole('heading', { name: 'Flags' }).waitFor();
  await page.getByText('Olive Owner <owner@example.com>').waitFor();
  // The cookie is out of the page's reach, and nothing is kept in storage.
  assert.equal(await page.evaluate(() => document.cookie), '');
  assert.equal(await page.evaluate(() => sessionStorage.length + localStorage.length), 0);
});

test('create a segment', async () => {
  await page.getByRole('link', { name: 'Segments' }).click();
  await page.getByRole('link', { name: 'New segment' }).click();
  await page.getByLabel('Key', { exact: true }).fill('beta');
  await page.getByLabel('Name').fill('Beta testers');
  await page.getByLabel('Included targeting keys').fill('user-7');
  await page.getByRole('button', { name: 'Add rule' }).click();
  await page.getByLabel('Values', { exact: true }).fill('@example.com');
  await look('segment-new');
  await page.getByRole('button', { name: 'Create segment' }).click();
  await page.getByText('version 1').waitFor();
  await page.getByRole('link', { name: 'Segments' }).click();
  await page.getByRole('link', { name: 'Beta testers' }).waitFor();
  await look('segments');
});

test('create a flag, build a rule on the segment and a rollout, and preview contexts', async () => {
  await page.getByRole('link', { name: 'Flags' }).click();
  await page.getByRole('link', { name: 'New flag' }).click();
  await page.getByLabel('Key').fill('new-checkout');
  await page.getByLabel('Name').fill('New checkout');
  await look('flag-new');
  await page.getByRole('button', { name: 'Create flag' }).click();
  await page.getByRole('heading', { name: 'New checkout' }).waitFor();
  // The preview's engine is loaded: both columns answer for a new, off flag.
  await cell('production', 'saved').getByText('DISABLED').waitFor();

  await page.getByRole('switch', { name: 'Enabled in production' }).check();
  await page.getByRole('button', { name: 'Add rule' }).click();
  const rule = page.getByRole('group', { name: 'Rule 1', exact: true });
  await rule.getByLabel('Operator').selectOption('inSegment');
  await rule.getByRole('checkbox', { name: 'Beta testers (beta)' }).check();
  const fallback = page.getByRole('group', { name: 'Default rule', exact: true });
  await fallback.getByRole('radio', { name: 'a percentage rollout' }).check();
  const handle = fallback.getByRole('slider', { name: 'Boundary between on and off' });
  await handle.focus();
  await page.keyboard.press('PageDown');
  await page.keyboard.press('PageDown');
  assert.equal(await handle.getAttribute('aria-valuenow'), '30');
  assert.equal(await fallback.getByLabel('off', { exact: true }).inputValue(), '70');
  // Dragging the boundary to the bar's middle, then typing a share: the sum stays 100 %.
  const bar = await fallback.getByRole('group', { name: /Rollout/ }).boundingBox();
  const at = await handle.boundingBox();
  await page.mouse.move(at.x + at.width / 2, at.y + at.height / 2);
  await page.mouse.down();
  await page.mouse.move(bar.x + bar.width * 0.5, at.y + at.height / 2, { steps: 5 });
  await page.mouse.up();
  const dragged = Number(await handle.getAttribute('aria-valuenow'));
  assert.ok(dragged >= 49 && dragged <= 51, `dragged to ${dragged} %`);
  await fallback.getByLabel('on', { exact: true }).fill('30');
  await fallback.getByLabel('on', { exact: true }).press('Tab');
  assert.equal(await fallback.getByLabel('off', { exact: true }).inputValue(), '70');
  assert.equal(await handle.getAttribute('aria-valuenow'), '30');

  const context = page.getByLabel('Context (JSON)');
  await context.fill(JSON.stringify(ada));
  await cell('production', 'draft').getByText('TARGETING_MATCH').waitFor();
  assert.match(await cell('production', 'draft').innerText(), /true\s+on\s+TARGETING_MATCH\s+rule 1/);
  assert.match(await cell('production', 'saved').innerText(), /false\s+off\s+DISABLED/);
  assert.match(await cell('staging', 'draft').innerText(), /DISABLED/);
  await context.fill(JSON.stringify(bob));
  await cell('production', 'draft').getByText('SPLIT').waitFor();
  await context.fill('{"targetingKey": ');
  await page.getByText(/Not JSON yet/).waitFor();
  await context.fill(JSON.stringify(ada));
  await cell('production', 'draft').getByText('TARGETING_MATCH').waitFor();
  await look('flag-draft');
  const unreachable = await unreachableByKeyboard(page, 'main');
  assert.deepEqual(unreachable, []);
  // The environment tabs move with the arrow keys.
  await page.getByRole('tab', { name: /^production/ }).focus();
  await page.keyboard.press('ArrowRight');
  const staging = page.getByRole('tab', { name: /^staging/ });
  assert.equal(await staging.getAttribute('aria-selected'), 'true');
  assert.equal(await staging.evaluate((el) => el === document.activeElement), true);
  await page.getByRole('switch', { name: 'Enabled in staging' }).waitFor();
  await page.keyboard.press('ArrowLeft');
  await page.getByRole('switch', { name: 'Enabled in production' }).waitFor();
});

test('save, and the Worker serves the saved flag over OFREP', async () => {
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText('Saved as version 2.').waitFor();
  await cell('production', 'saved').getByText('TARGETING_MATCH').waitFor();
  await edgeAnswers(ada, { value: true, reason: 'TARGETING_MATCH' });
  await edgeAnswers(bob, { reason: 'SPLIT' });
  // The page's snapshot (snapshot.ts) answers what the admin's own (snapshot.rs) does.
  const context = page.getByLabel('Context (JSON)');
  for (const who of [ada, bob, { targetingKey: 'user-7' }, { email: 'no-key@example.org' }]) {
    await context.fill(JSON.stringify(who));
    const admins = await admin.call('POST', `/v1/projects/${PROJECT}/environments/production/evaluate`, { context: who, flags: ['new-checkout'] });
    const expected = admins.results['new-checkout'];
    const shown = await cell('production', 'saved').innerText();
    const words = expected.reason === 'ERROR' ? [expected.errorCode] : [JSON.stringify(expected.value), expected.variant, expected.reason];
    for (const word of words) assert.ok(shown.includes(word), `${JSON.stringify(who)}: page shows "${shown}", the admin answers ${JSON.stringify(expected)}`);
  }
  await context.fill(JSON.stringify(ada));
});

test("the engine's validation errors appear at the field their pointer names", async () => {
  await page.getByRole('button', { name: 'Add rule' }).click();
  const rule = page.getByRole('group', { name: 'Rule 2', exact: true });
  await rule.getByLabel('Attribute').fill('email');
  await rule.getByLabel('Operator').selectOption('matches');
  const values = rule.getByLabel('Values', { exact: true });
  await values.fill('(unclosed');
  // Live, from the preview engine's loader, before anything is sent.
  await until('the values to be marked invalid', async () => (await values.getAttribute('aria-invalid')) === 'true');
  const summary = page.getByRole('alert').filter({ hasText: 'The engine would refuse this draft' });
  await summary.getByRole('button', { name: 'production › rule 2 › condition 1 › value 1' }).click();
  assert.equal(await values.evaluate((el) => el === document.activeElement), true, 'the summary link focuses the field');
  // The admin refuses the save with the same pointer: the message lands at the same field.
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('heading', { name: 'The admin refused the change' }).waitFor();
  const described = await values.getAttribute('aria-describedby');
  const message = await page.locator(`[id="${described}"]`).innerText();
  assert.match(message, /regular expression|unclosed|group|parenthes/i, message);
  assert.doesNotMatch(await page.locator('main').innerText(), /"error"\s*:|VALIDATION_FAILED/, 'no JSON banner');
  await look('flag-errors');
  await page.getByRole('button', { name: 'Discard' }).click();
  await until('the errors to go', async () => (await page.getByRole('alert').count()) === 0);
});

test('flag metadata: rows of name, type and value, refused at the row, then returned by the Worker', async () => {
  const section = page.getByRole('region', { name: 'Metadata' });
  const commit = async (field, text) => {
    await field.fill(text);
    await field.press('Tab');
  };
  await section.getByRole('button', { name: 'Add metadata' }).click();
  await commit(section.getByLabel('Name of metadata entry 1'), 'owner');
  await commit(section.getByLabel('Value of owner'), 'payments');
  await section.getByRole('button', { name: 'Add metadata' }).click();
  await commit(section.getByLabel('Name of metadata entry 2'), 'flagVersion');
  await section.getByLabel('Type of flagVersion').selectOption('number');
  await commit(section.getByLabel('Value of flagVersion'), '3');
  // The edge reports the flag's version under that name: the admin refuses it at the row.
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('heading', { name: 'The admin refused the change' }).waitFor();
  const name = section.getByLabel('Name of metadata entry 2');
  await until('the row to be marked invalid', async () => (await name.getAttribute('aria-invalid')) === 'true');
  const message = await page.locator(`[id="${await name.getAttribute('aria-describedby')}"]`).innerText();
  assert.match(message, /reserved/, message);
  await look('flag-metadata');
  await commit(name, 'ticket');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText('Saved as version 3.').waitFor();
  await until('the Worker to return the metadata', async () => {
    const res = await ofrep(worker.url, serverKey, 'new-checkout', ada);
    return res.body.metadata?.owner === 'payments' && res.body.metadata?.ticket === 3;
  }, 15000, 50);
});

test('toggle in the list, and the Worker follows; changes by others appear without a reload', async () => {
  await page.getByRole('link', { name: 'Flags' }).click();
  const production = page.getByRole('switch', { name: 'new-checkout in production' });
  await production.waitFor();
  assert.equal(await production.isChecked(), true);
  await production.uncheck();
  await edgeAnswers(ada, { value: false, reason: 'DISABLED' });
  // Someone else turns staging on through the API; the page follows by itself.
  const staging = page.getByRole('switch', { name: 'new-checkout in staging' });
  assert.equal(await staging.isChecked(), false);
  await admin.call('POST', `/v1/projects/${PROJECT}/flags/new-checkout/environments/staging/toggle`, { enabled: true });
  await until('the staging switch to follow', () => staging.isChecked(), 10000, 100);
  await page.getByLabel('Search').fill('checkout');
  await page.getByText('1 of 1 flags').waitFor();
  await page.getByLabel('Search').fill('nothing-like-this');
  await page.getByText('0 of 1 flags').waitFor();
  await page.getByLabel('Search').fill('');
  await look('flags');
  assert.deepEqual(await unreachableByKeyboard(page), []);
});

test('restore an old version, and the Worker serves it again', async () => {
  await page.goto(`${flagUrl('new-checkout')}/history`);
  await page.getByRole('heading', { name: 'History of new-checkout' }).waitFor();
  await page.getByRole('button', { name: 'Changes in 2' }).click();
  await page.getByRole('heading', { name: 'Version 1 → 2' }).waitFor();
  await page.getByRole('rowheader', { name: /production › enabled/ }).waitFor();
  await look('history');
  await page.getByRole('button', { name: 'Restore version 2' }).click();
  await page.getByText(/Restored as version \d+\./).waitFor();
  await edgeAnswers(ada, { value: true, reason: 'TARGETING_MATCH' });
});

test('evaluation insights: the list sorts by last evaluation, the flag page charts its evaluations', async () => {
  // Two more flags: one evaluated three days ago, one never.
  for (const key of ['old-banner', 'never-used']) {
    await admin.call('POST', `/v1/projects/${PROJECT}/flags`, { key, name: key, type: 'boolean', variations: [{ key: 'on', value: true }, { key: 'off', value: false }] });
  }
  // Counts arrive as the edge sends them: a batch on an ingestion key of its own.
  const ingestion = (await admin.call('POST', '/v1/ingestion-keys', { name: 'edge' })).secret;
  const now = Date.now();
  const item = (flag, variant, reason, ago, count) => ({ environment: `${PROJECT}-production`, flag, variant, reason, time: now - ago, count });
  const res = await fetch(`${admin.url}/v1/usage/batches`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': ingestion, 'idempotency-key': 'dashboard-1' },
    body: JSON.stringify({ items: [
      item('new-checkout', 'on', 'TARGETING_MATCH', 2 * 60_000, 30),
      item('new-checkout', 'off', 'SPLIT', 2 * 60_000, 10),
      item('new-checkout', 'on', 'SPLIT', 3 * 3_600_000, 5),
      item('old-banner', 'off', 'DEFAULT', 3 * 86_400_000, 7),
    ] }),
  });
  assert.equal(res.status, 202, await res.text());

  await page.getByRole('link', { name: 'Flags' }).click();
  const firstRow = () => page.locator('table.flags tbody tr').first().locator('th a').textContent();
  const lastCell = (flag) => page.locator('table.flags tbody tr', { has: page.getByRole('link', { name: flag, exact: true }) }).locator('td.last-evaluated');
  await page.getByText('3 of 3 flags').waitFor();
  await page.getByLabel('Sort by').selectOption('evaluated');
  await until('the list to sort by the newest evaluation', async () => (await firstRow()) === 'New checkout', 10000, 100);
  assert.match(await lastCell('New checkout').textContent(), /minutes? ago/);
  assert.match(await lastCell('old-banner').textContent(), /3 days ago/);
  assert.equal(await lastCell('never-used').textContent(), 'never');
  await page.getByLabel('Sort by').selectOption('unevaluated');
  await until('never-evaluated flags to come first', async () => (await firstRow()) === 'never-used', 10000, 100);
  const order = await page.locator('table.flags tbody tr th a').allTextContents();
  assert.deepEqual(order, ['never-used', 'old-banner', 'New checkout']);
  assert.equal(await page.getByRole('columnheader', { name: 'Last evaluated' }).getAttribute('aria-sort'), 'ascending');
  await look('flags-by-evaluation');

  await page.goto(flagUrl('new-checkout'));
  const card = page.getByRole('region', { name: 'Evaluations' });
  const chart = card.getByRole('img');
  await until('the chart to hold the last 24 hours', async () => (await chart.getAttribute('data-total')) === '45', 10000, 100);
  assert.match(await chart.getAttribute('aria-label'), /^45 evaluations, last 24 hours; the busiest hour .* had 40\.$/);
  assert.equal(await card.locator('rect.bar').count(), 2, 'one bar for each hour with evaluations');
  const shares = await card.locator('table.usage-variants tbody tr').allTextContents();
  assert.deepEqual(shares, ['on3577.8 %', 'off1022.2 %']);
  assert.match(await card.getByRole('listitem').filter({ hasText: 'production' }).textContent(), /production: \d+ minutes? ago/);
  assert.equal(await card.getByRole('listitem').filter({ hasText: 'staging' }).textContent(), 'staging: never');
  await look('flag-usage');
  await card.getByLabel('Range').selectOption('hour');
  await until('the last hour, by minute', async () => (await chart.getAttribute('data-total')) === '40', 10000, 100);
  await card.getByLabel('Environment').selectOption('staging');
  await card.getByText('No evaluations counted: last hour in staging.').waitFor();
  assert.equal(await card.locator('rect.bar').count(), 0);
});

test('environments: SDK keys created, rotated and revoked, secrets shown once; publish status', async () => {
  await page.getByRole('link', { name: 'Environments' }).click();
  const production = page.getByRole('region', { name: /Production/ });
  await production.getByText('up to date').waitFor();
  await production.getByRole('button', { name: 'New client key' }).click();
  const secret = page.getByRole('region', { name: 'New client SDK key' });
  assert.match(await secret.getByRole('textbox').inputValue(), /^efc_/);
  await secret.getByRole('button', { name: 'Copy' }).click();
  await secret.getByRole('button', { name: 'Copied' }).waitFor();
  await look('environments');
  await secret.getByRole('button', { name: 'Done' }).click();
  assert.equal(await page.getByRole('region', { name: /New .* key/ }).count(), 0, 'the secret is gone');
  const rotate = production.getByRole('button', { name: /^Rotate efs_/ });
  await rotate.click();
  await page.getByRole('region', { name: /New server SDK key/ }).waitFor();
  await production.getByText('in grace period').waitFor();
  page.once('dialog', (d) => d.accept());
  await production.getByRole('button', { name: /^Revoke efc_/ }).click();
  await production.getByRole('cell', { name: 'revoked' }).waitFor();
});

test('audit log, webhooks, API keys and users', async () => {
  await page.getByRole('link', { name: 'Audit log' }).click();
  await page.getByLabel('Action').fill('flag.*');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.getByText('flag.restore-version').first().waitFor();
  // flag.restore-version was on the page before the filter too: wait for the filtered list.
  await until('the filter to apply', async () => (await page.getByText('sdk-key.create').count()) === 0, 10000, 100);
  await page.getByText('flag.restore-version').first().click();
  await look('audit');

  await page.getByRole('link', { name: 'Webhooks' }).click();
  await page.getByLabel('URL').fill('https://hooks.example.com/edgeflag');
  await page.getByRole('button', { name: 'Create webhook' }).click();
  assert.match(await page.getByRole('region', { name: 'New webhook signing secret' }).getByRole('textbox').inputValue(), /^whsec_/);
  await look('webhooks');
  await page.getByRole('link', { name: 'Delivery log' }).click();
  await page.getByRole('heading', { name: 'Webhook deliveries' }).waitFor();
  await look('webhook-deliveries');

  await page.getByRole('link', { name: 'API keys' }).click();
  await page.getByLabel('Name').fill('ci');
  await page.getByLabel('Role').selectOption('editor');
  await page.getByRole('button', { name: 'Create API key' }).click();
  assert.match(await page.getByRole('region', { name: 'New API key' }).getByRole('textbox').inputValue(), /^efk_/);
  await look('api-keys');
  await page.getByRole('link', { name: 'Users' }).click();
  await page.getByRole('rowheader', { name: 'Olive Owner' }).waitFor();
  await page.getByLabel('Email').fill('vic@example.com');
  await page.getByLabel('Role').selectOption('viewer');
  await page.getByRole('button', { name: 'Create invitation' }).click();
  invitationLink = await page.getByRole('region', { name: 'New invitation link' }).getByRole('textbox').inputValue();
  assert.match(invitationLink, /\/#\/invitation\/efi_/);
  await page.getByRole('cell', { name: 'pending' }).waitFor();
  await look('users');
  await page.getByRole('link', { name: 'Your sessions' }).click();
  await page.getByText('(this browser)').waitFor();
  await look('sessions');
  await page.getByRole('link', { name: 'Segments' }).click();
  await page.getByRole('link', { name: 'Beta testers' }).click();
  await page.getByRole('heading', { name: 'Beta testers' }).waitFor();
  await look('segment');
});

test('an invited viewer joins, sees no edit controls, and the API refuses edits anyway', async () => {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('Email').waitFor();
  await page.goto(invitationLink);
  await page.getByText('vic@example.com is invited to').waitFor();
  await page.getByLabel('Your name').fill('Vic Viewer');
  await page.getByLabel('Choose a password').fill('short');
  await page.getByRole('button', { name: 'Accept the invitation' }).click();
  await page.getByRole('alert').filter({ hasText: 'at least 12 characters' }).waitFor();
  await look('invitation');
  await page.getByLabel('Choose a password').fill('viewing is believing');
  await page.getByRole('button', { name: 'Accept the invitation' }).click();
  await page.getByRole('heading', { name: 'Flags' }).waitFor();
  await page.getByText('Vic Viewer <vic@example.com>').waitFor();
  await page.getByRole('link', { name: 'New checkout' }).waitFor();
  assert.equal(await page.getByRole('switch').count(), 0, 'no switches in the list');
  assert.equal(await page.getByRole('link', { name: 'New flag' }).count(), 0);
  await look('flags-viewer');
  await page.goto(flagUrl('new-checkout'));
  await page.getByRole('heading', { name: 'New checkout' }).waitFor();
  await page.getByLabel('Context (JSON)').fill(JSON.stringify(ada));
  await cell('production', 'saved').getByText('TARGETING_MATCH').waitFor();
  for (const name of ['Save', 'Add rule', 'Add variation', 'Archive flag', 'Discard']) {
    assert.equal(await page.getByRole('button', { name }).count(), 0, `no ${name} button`);
  }
  // A viewer still moves between environments.
  await page.getByRole('tab', { name: /^staging/ }).click();
  await page.getByRole('switch', { name: 'Enabled in staging' }).waitFor();
  const editable = await page.locator('main input:enabled, main select:enabled').evaluateAll((els) =>
    els.filter((el) => !el.closest('.evaluate, .usage')).map((el) => el.outerHTML));
  assert.deepEqual(editable, [], 'every definition and targeting input is read-only');
  await look('flag-viewer');
  // The page's own session, with its CSRF token: refused for the role.
  const token = await csrfToken(page);
  const toggle = (headers) => page.evaluate(async ([project, h]) => {
    const res = await fetch(`/v1/projects/${project}/flags/new-checkout/environments/production/toggle`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...h },
      body: JSON.stringify({ enabled: false }),
    });
    return { status: res.status, message: (await res.json()).error.message };
  }, [PROJECT, headers]);
  const refused = await toggle({ 'x-csrf-token': token });
  assert.equal(refused.status, 403);
  assert.match(refused.message, /needs the editor role; the user `Vic Viewer <vic@example.com>` is viewer/);
  await page.goto(`${flagUrl('new-checkout')}/history`);
  await page.getByRole('heading', { name: 'History of new-checkout' }).waitFor();
  assert.equal(await page.getByRole('button', { name: /^Restore/ }).count(), 0);
  const { items } = await admin.call('GET', '/v1/users');
  assert.deepEqual(items.map((u) => `${u.email} ${u.role}`), ['owner@example.com owner', 'vic@example.com viewer']);
});

test('a request with the session cookie but without its CSRF token is refused', async () => {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await signIn(page, admin.url, admin.ownerEmail, admin.ownerPassword);
  const path = `/v1/projects/${PROJECT}/flags/new-checkout`;
  const before = (await admin.call('GET', path)).environments.staging.enabled;
  const toggle = (headers) => page.evaluate(async ([p, h, enabled]) => {
    const res = await fetch(`${p}/environments/staging/toggle`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...h },
      body: JSON.stringify({ enabled }),
    });
    return { status: res.status, message: (await res.json()).error?.message };
  }, [path, headers, !before]);
  const without = await toggle({});
  assert.equal(without.status, 403);
  assert.match(without.message, /CSRF token/);
  const wrong = await toggle({ 'x-csrf-token': 'f'.repeat(64) });
  assert.equal(wrong.status, 403);
  assert.equal((await admin.call('GET', path)).environments.staging.enabled, before, 'nothing changed');
  // The same request with the page's token goes through: only the token was missing.
  const allowed = await toggle({ 'x-csrf-token': await csrfToken(page) });
  assert.equal(allowed.status, 200);
  assert.equal((await admin.call('GET', path)).environments.staging.enabled, !before);
});

test('a session ended elsewhere leads back to sign-in', async () => {
  await page.goto(`${admin.url}/#/projects/${PROJECT}/flags`);
  await page.getByRole('link', { name: 'New checkout' }).waitFor();
  // Another browser (its own cookie jar) of the same person signs out everywhere.
  const second = await openBrowser();
  const other = await second.page();
  await signIn(other.page, admin.url, admin.ownerEmail, admin.ownerPassword);
  await other.page.getByRole('link', { name: 'Your sessions' }).click();
  await until('both sessions to be listed', async () => (await other.page.getByRole('button', { name: /^Sign out session/ }).count()) === 2);
  other.page.once('dialog', (d) => d.accept());
  await other.page.getByRole('button', { name: 'Sign out everywhere' }).click();
  await other.page.getByLabel('Email').waitFor();
  assert.deepEqual(other.problems, []);
  await second.close();
  // This page hears it from the change feed's end (or its next request) without a reload.
  await page.getByLabel('Email').waitFor({ timeout: 20000 });
  await page.getByLabel('Password').waitFor();
});

test('no page broke its Content-Security-Policy or threw', () => {
  assert.deepEqual(problems, []);
});
