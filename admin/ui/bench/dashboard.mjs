// Dashboard benchmarks (BENCHMARKS.md), in Debian's Chromium against a real admin:
//   1. first load: JavaScript + CSS, gzip (from dist/.sizes.json, written by build.mjs);
//   2. a project with 1,000 flags: rendering the whole list, and filtering as one types
//      (each keystroke measured from the input event to the next frame);
//   3. "Evaluate as" on a flag with 20 rules in 3 environments: keystroke in the context to
//      the results on screen (draft and published, every environment).
// Run: cargo xtask build-ui && cargo build -p edgeflag-admin && \
//      (cd admin/ui && node_modules/.bin/node bench/dashboard.mjs)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Admin } from '../../../tests/e2e/harness.mjs';
import { openBrowser, signIn } from '../test/browser.mjs';

const FLAGS = Number(process.env.FLAGS ?? 1000);
const P = 'bench';
const here = new URL('..', import.meta.url).pathname;
const sizes = JSON.parse(readFileSync(join(here, 'dist', '.sizes.json'), 'utf8'));

const admin = new Admin();
process.on('exit', () => admin.process?.kill('SIGKILL'));
await admin.init();
// The bench writes 1,000 flags in a row: above the API's default rate limit (600 a
// minute). Publishing waits 30 s after a change, and each
// publish of a 1,000-flag environment holds SQLite's write lock while it runs.
await admin.serve({}, { EDGEFLAG_PUBLISH_COALESCE_MS: '30000', EDGEFLAG_RATE_LIMIT_PER_MINUTE: '100000' });
await admin.call('POST', '/v1/projects', { key: P, name: 'Bench' });
const envs = ['development', 'production', 'staging'];
for (const key of envs) await admin.call('POST', `/v1/projects/${P}/environments`, { key, name: key });
await admin.call('POST', `/v1/projects/${P}/segments`, { key: 'staff', name: 'Staff', rules: [{ conditions: [{ attribute: 'email', op: 'endsWith', values: ['@example.com'] }] }] });

const types = ['boolean', 'string', 'number', 'object'];
const values = { boolean: [true, false], string: ['a', 'b'], number: [1, 2], object: [{ a: 1 }, { b: 2 }] };
const started = performance.now();
let next = 0;
/** A write, tried again when SQLite's lock timed out (a 500 the admin logs as "database is locked"). */
async function write(method, path, body) {
  for (let attempt = 0; ; attempt++) {
    const res = await admin.request(method, path, body);
    if (res.status < 300) return res.body;
    if (res.status !== 500 || attempt === 4) throw new Error(`POST ${path} answered ${res.status}: ${JSON.stringify(res.body)}`);
  }
}
await Promise.all(Array.from({ length: 1 }, async () => {
  while (next < FLAGS) {
    const i = next++;
    const type = types[i % 4];
    await write('POST', `/v1/projects/${P}/flags`, {
      key: `flag-${String(i).padStart(4, '0')}`,
      name: `Feature ${i} ${['checkout', 'search', 'profile', 'billing', 'onboarding'][i % 5]}`,
      type,
      variations: values[type].map((value, j) => ({ key: `v${j}`, value })),
      tags: [`team-${i % 7}`, i % 3 ? 'web' : 'mobile'],
    });
  }
}));
console.log(`created ${FLAGS} flags in ${((performance.now() - started) / 1000).toFixed(1)} s`);

// A flag with 20 rules of mixed operators, the last one on a segment, rolled out by default.
const ops = [
  ['email', 'endsWith', ['@corp.example']], ['country', 'in', ['DE', 'AT', 'CH']], ['plan', 'in', ['enterprise']],
  ['appVersion', 'semverGte', ['5.0.0']], ['age', 'gte', [65]], ['email', 'matches', ['^qa-\\d+@']],
  ['/address/city', 'in', ['Berlin']], ['$now', 'after', ['2030-01-01T00:00:00Z']], ['beta', 'in', [true]],
  ['userAgent', 'contains', ['Edgeflag-Bot']],
];
const rules = Array.from({ length: 20 }, (_, i) => {
  const [attribute, op, vals] = ops[i % ops.length];
  return i === 19
    ? { id: 'staff', conditions: [{ op: 'inSegment', values: ['staff'] }], serve: { variation: 'on' } }
    : { id: `r${i}`, conditions: [{ attribute, op, values: vals, negate: i >= 10 && i % 2 === 0 }, { attribute: 'targetingKey', op: 'exists', values: [] }], serve: { variation: i % 2 ? 'on' : 'off' } };
});
const targeting = { enabled: true, offVariation: 'off', rules, defaultRule: { rollout: { variations: [{ variation: 'on', weight: 25000 }, { variation: 'off', weight: 75000 }] } } };
await admin.call('POST', `/v1/projects/${P}/flags`, {
  key: 'twenty-rules', name: 'Twenty rules', type: 'boolean',
  variations: [{ key: 'on', value: true }, { key: 'off', value: false }],
  environments: Object.fromEntries(envs.map((e) => [e, targeting])),
});

const browser = await openBrowser();
const { page } = await browser.page();
await signIn(page, admin.url, admin.ownerEmail, admin.ownerPassword);
await page.goto(`${admin.url}/#/projects/${P}/flags`);
await page.getByText(`${FLAGS + 1} of ${FLAGS + 1} flags`).waitFor({ timeout: 60_000 });

/** In the page: sets a control's value, fires its event, and times it to the next frame. */
const timeInput = (selector, text, event) => page.evaluate(async ([sel, t, ev]) => {
  const el = document.querySelector(sel);
  const proto = Object.getPrototypeOf(el);
  const t0 = performance.now();
  Object.getOwnPropertyDescriptor(proto, 'value').set.call(el, t);
  el.dispatchEvent(new Event(ev, { bubbles: true }));
  // Preact renders in a microtask: after a macrotask the DOM is updated; after the next
  // animation frame (plus a task) the browser has also laid it out and painted.
  await new Promise((r) => setTimeout(r, 0));
  const dom = performance.now() - t0;
  await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
  return { dom, frame: performance.now() - t0 };
}, [selector, text, event]);

const stats = (xs) => {
  const s = xs.map((x) => (typeof x === 'number' ? x : x.frame)).sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { median: at(0.5), p95: at(0.95), max: s[s.length - 1], n: s.length };
};
const fmt = (s) => `median ${s.median.toFixed(1)} ms, p95 ${s.p95.toFixed(1)} ms, max ${s.max.toFixed(1)} ms (n=${s.n})`;

const selects = await page.locator('form.filters select').all();
const typeId = await selects[1].getAttribute('id');
const render = [];
for (let i = 0; i < 10; i++) {
  await timeInput(`#${typeId}`, 'object', 'change');
  render.push(await timeInput(`#${typeId}`, '', 'change'));
}
const search = await page.getByLabel('Search').getAttribute('id');
const typing = [];
for (let round = 0; round < 5; round++) {
  const word = ['feature 12', 'checkout', 'flag-09', 'billing 3', 'team'][round];
  for (let i = 1; i <= word.length; i++) typing.push(await timeInput(`#${search}`, word.slice(0, i), 'input'));
  for (let i = word.length - 1; i >= 0; i--) typing.push(await timeInput(`#${search}`, word.slice(0, i), 'input'));
}

await page.goto(`${admin.url}/#/projects/${P}/flags/twenty-rules`);
await page.locator('tr[data-env="production"] td.saved').getByText(/SPLIT|TARGETING_MATCH|DEFAULT/).waitFor({ timeout: 30_000 });
const ctx = await page.getByLabel('Context (JSON)').getAttribute('id');
const preview = [];
const inPage = [];
for (let i = 0; i < 60; i++) {
  const context = { targetingKey: `user-${i}`, email: i % 3 ? `u${i}@example.com` : `u${i}@example.org`, country: ['DE', 'FR'][i % 2], appVersion: `4.${i}.0` };
  preview.push(await timeInput(`#${ctx}`, JSON.stringify(context), 'input'));
  const ms = await page.locator('table.results').getAttribute('data-preview-ms');
  if (ms) inPage.push(Number(ms));
}
const lastProduction = await page.locator('tr[data-env="production"] td.draft').innerText();

const result = {
  firstLoadGzipKB: +(sizes.firstLoad.gzip / 1024).toFixed(1),
  firstLoadRawKB: +(sizes.firstLoad.raw / 1024).toFixed(1),
  wasmGzipKB: +(Object.entries(sizes.files).find(([n]) => n.endsWith('.wasm'))[1].gzip / 1024).toFixed(1),
  flags: FLAGS + 1,
  listRenderAll: stats(render),
  listRenderAllDom: stats(render.map((x) => x.dom)),
  filterKeystroke: stats(typing),
  filterKeystrokeDom: stats(typing.map((x) => x.dom)),
  previewKeystroke: stats(preview),
  previewKeystrokeDom: stats(preview.map((x) => x.dom)),
  previewInPage: stats(inPage),
};
console.log(`first load: ${result.firstLoadGzipKB} KB gzip JS+CSS (${result.firstLoadRawKB} KB raw); engine wasm ${result.wasmGzipKB} KB gzip, loaded by the flag page`);
console.log(`${FLAGS + 1} flags, render the whole list (type filter object -> any), to the DOM: ${fmt(result.listRenderAllDom)}`);
console.log(`${FLAGS + 1} flags, render the whole list, to the next frame: ${fmt(result.listRenderAll)}`);
console.log(`${FLAGS + 1} flags, filter per keystroke, to the DOM: ${fmt(result.filterKeystrokeDom)}`);
console.log(`${FLAGS + 1} flags, filter per keystroke, to the next frame: ${fmt(result.filterKeystroke)}`);
console.log(`preview, 20 rules x 3 environments x (draft + published), keystroke -> DOM: ${fmt(result.previewKeystrokeDom)}`);
console.log(`preview, keystroke -> next frame: ${fmt(result.previewKeystroke)}`);
console.log(`preview, keystroke -> results committed (the page's own measure): ${fmt(result.previewInPage)}`);
console.log(`last production draft answer: ${lastProduction.replace(/\s+/g, ' ')}`);
await browser.close();
await admin.stop();
