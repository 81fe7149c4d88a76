// Debian's Chromium (never a downloaded browser) through playwright-core, with what the
// dashboard's tests share: a page that records console errors and Content-Security-Policy
// violations, axe-core, a keyboard walk, screenshots, and sign-in.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
export const shots = process.env.EDGEFLAG_UI_SCREENSHOTS ?? join(tmpdir(), 'edgeflag-ui-screenshots');

export async function openBrowser() {
  const profile = mkdtempSync(join(tmpdir(), 'edgeflag-ui-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  await context.grantPermissions(['clipboard-read', 'clipboard-write']).catch(() => {});
  mkdirSync(shots, { recursive: true });
  return {
    context,
    async page() {
      const page = await context.newPage();
      const problems = [];
      page.on('console', (m) => {
        const text = m.text();
        // A refused request (403 for a viewer, 422 while editing) logs a console error by
        // design of Chromium; policy violations and script errors are what must never appear.
        if (/Content Security Policy|Refused to/i.test(text)) problems.push(`csp: ${text}`);
        else if (m.type() === 'error' && !/Failed to load resource/.test(text)) problems.push(`console: ${text}`);
      });
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
      return { page, problems };
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** axe-core's serious and critical violations on the page as it is now. */
export async function axe(page) {
  // Evaluated through the DevTools protocol, which the page's CSP does not govern.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE);
  const result = await page.evaluate(async () =>
    window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } }));
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
}

/**
 * Presses Tab until focus comes back round, and answers the focusable controls of `root`
 * that focus never reached (each described by tag, label and text). Composite widgets
 * take one Tab stop and move inside with the arrow keys, as ARIA prescribes: a radio
 * group's unchecked radios and the unselected tabs of a tab list (`tabindex="-1"`) are
 * not Tab stops; tests check their arrow keys separately.
 */
export async function unreachableByKeyboard(page, root = 'body') {
  const total = await page.evaluate((sel) => {
    const focusable = 'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), select:not([disabled]), textarea:not([disabled]), [tabindex="0"]';
    const arrowed = (el) => el.getAttribute('tabindex') === '-1' || (el.type === 'radio' && !el.checked
      && document.querySelector(`input[type="radio"][name="${CSS.escape(el.name)}"]:checked`));
    const els = [...document.querySelector(sel).querySelectorAll(focusable)]
      .filter((el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden' && !arrowed(el));
    els.forEach((el, i) => el.setAttribute('data-kbd', String(i)));
    window.__reached = new Set();
    document.addEventListener('focusin', (e) => {
      const k = e.target.closest?.('[data-kbd]')?.getAttribute('data-kbd');
      if (k !== null && k !== undefined) window.__reached.add(k);
    });
    document.activeElement?.blur();
    return els.length;
  }, root);
  for (let i = 0; i < total + 30; i++) await page.keyboard.press('Tab');
  return page.evaluate(() => [...document.querySelectorAll('[data-kbd]')]
    .filter((el) => !window.__reached.has(el.getAttribute('data-kbd')))
    .map((el) => `${el.tagName.toLowerCase()} "${el.getAttribute('aria-label') ?? el.textContent?.trim().slice(0, 40) ?? ''}"`));
}

export async function screenshot(page, name) {
  // From the top, so sticky bars sit where a person first sees them.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

export async function signIn(page, url, email, password) {
  await page.goto(`${url}/`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
}

/** The signed-in page's CSRF token, as the dashboard gets it. */
export function csrfToken(page) {
  return page.evaluate(async () => (await (await fetch('/v1/auth/session')).json()).csrfToken);
}
