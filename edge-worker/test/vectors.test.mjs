// Every shared vector (tests/vectors/) through the Worker on local workerd:
// untyped cases over OFREP single evaluation and the native API, typed cases through
// the real OpenFeature server SDK with the OFREP provider (which reports TYPE_MISMATCH),
// evaluate-all cases over OFREP bulk. Writes the `worker` row of the conformance table.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { OFREPProvider } from '@openfeature/ofrep-provider';
import { OpenFeature } from '@openfeature/server-sdk';
import { keysFor, ofrep, publish, publishBody, publishTextBody, publisher, root, startWorker, writeConformance } from './helpers.mjs';

const DEFAULT_NOW = 1_795_608_000_000;
const vectorsDir = join(root, 'tests', 'vectors');
const index = JSON.parse(readFileSync(join(vectorsDir, 'index.json'), 'utf8'));
const suppressed = JSON.parse(readFileSync(join(vectorsDir, 'suppressions.json'), 'utf8')).worker ?? [];
const signer = publisher();
let mf;
let url;

before(async () => {
  ({ mf, url } = await startWorker([signer], { EDGEFLAG_TEST_CLOCK: 'true' }));
});
after(() => mf?.dispose());

const same = (a, b) => isDeepStrictEqual(a ?? null, b ?? null);

function compare(expect, got) {
  if (expect.errorCode) return got.errorCode === expect.errorCode;
  return same(got.value, expect.value) && got.variant === expect.variant && got.reason === expect.reason;
}

// The suite starts the Worker with EDGEFLAG_TEST_CLOCK=true, so each case pins the
// evaluation time with `x-edgeflag-test-now`, exactly as the native runner passes `now`.
const clock = (c) => ({ 'x-edgeflag-test-now': String(c.now ?? DEFAULT_NOW) });
let currentCase;

async function viaOfrep(key, c) {
  const res = await ofrep(url, key, c.flag, c.context, clock(c));
  return res.json();
}

async function viaNative(key, c) {
  const res = await fetch(`${url}/v1/evaluate`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...clock(c) },
    body: JSON.stringify({ context: c.context, flags: [c.flag] }),
  });
  const body = await res.json();
  if (body.error) return { errorCode: body.error.code };
  return body.flags[c.flag];
}

async function viaOpenFeature(client, c) {
  const getters = {
    boolean: ['getBooleanDetails', false],
    string: ['getStringDetails', ''],
    number: ['getNumberDetails', 0],
    object: ['getObjectDetails', {}],
  };
  const [method, fallback] = getters[c.type];
  currentCase = c;
  const d = await client[method](c.flag, fallback, c.context);
  return d.errorCode ? { errorCode: d.errorCode } : { value: d.value, variant: d.variant, reason: d.reason };
}

async function viaBulk(key, c) {
  const body = await (await ofrep(url, key, undefined, c.context, clock(c))).json();
  return Object.fromEntries(body.flags.map((f) => [f.key, f]));
}

// A load (tests/vectors/README.md, "Loads") is published as its text, byte for byte,
// into an environment of its own: its text names the environment `vectors`, which the
// runner renames. A refused snapshot's publish must answer 422 SNAPSHOT_REFUSED naming
// the member at fault; an accepted one must answer as `expectAll` says over OFREP bulk.
async function runLoad(env, load) {
  const key = `srv_${env}`;
  const text = load.text.replace('"environment":"vectors"', `"environment":"${env}"`);
  const res = await publish(url, env, publishTextBody(signer, text, env, keysFor(key, `cli_${env}`)));
  if (load.refused !== undefined) {
    if (res.status !== 422 || res.body.error?.code !== 'SNAPSHOT_REFUSED') return `publish answered ${res.status} ${JSON.stringify(res.body)}`;
    const member = (load.refused ?? '').replace(/^\//, '');
    return member === '' || res.body.error.message.includes(`\`${member}\``) ? null : `the refusal does not name ${member}: ${res.body.error.message}`;
  }
  if (res.status !== 200) return `publish answered ${res.status} ${JSON.stringify(res.body)}`;
  const got = await viaBulk(key, { context: {} });
  const keys = Object.keys(load.expectAll);
  if (Object.keys(got).length !== keys.length) return `flags ${JSON.stringify(Object.keys(got))}, expected ${JSON.stringify(keys)}`;
  const wrong = keys.filter((flag) => !got[flag] || !compare(load.expectAll[flag], got[flag]));
  return wrong.length === 0 ? null : `wrong answers for ${wrong.join(', ')}: ${JSON.stringify(got)}`;
}

it('passes every shared vector', async () => {
  const counts = { passed: 0, failed: 0, suppressed: 0, total: 0 };
  const failures = [];
  for (const [n, file] of index.files.entries()) {
    const vectors = JSON.parse(readFileSync(join(vectorsDir, file), 'utf8'));
    const env = `v${n}`;
    const key = `srv_${env}`;
    const snapshot = { ...vectors.snapshot, environment: env };
    const res = await publish(url, env, publishBody(signer, snapshot, keysFor(key, `cli_${env}`)));
    assert.equal(res.status, 200, `${file}: ${JSON.stringify(res.body)}`);
    OpenFeature.setProvider(env, new OFREPProvider({
      baseUrl: url,
      headersFactory: () => [['Authorization', `Bearer ${key}`], ...Object.entries(clock(currentCase))],
    }));
    const client = OpenFeature.getClient(env);
    for (const c of vectors.cases) {
      counts.total += 1;
      if (suppressed.some((s) => s.file === file && s.case === c.name)) {
        counts.suppressed += 1;
        continue;
      }
      let ok;
      if (c.all) {
        const got = await viaBulk(key, c);
        ok = Object.entries(c.expectAll).every(([flag, expect]) => got[flag] && compare(expect, got[flag]));
      } else if (c.type) {
        ok = compare(c.expect, await viaOpenFeature(client, c));
      } else {
        const [a, b] = [await viaOfrep(key, c), await viaNative(key, c)];
        ok = compare(c.expect, a) && compare(c.expect, b);
      }
      if (ok) {
        counts.passed += 1;
      } else {
        counts.failed += 1;
        failures.push(`${file} / ${c.name}`);
      }
    }
    for (const [i, load] of (vectors.loads ?? []).entries()) {
      counts.total += 1;
      if (suppressed.some((s) => s.file === file && s.case === load.name)) {
        counts.suppressed += 1;
        continue;
      }
      const problem = await runLoad(`${env}-l${i}`, load);
      if (problem === null) {
        counts.passed += 1;
      } else {
        counts.failed += 1;
        failures.push(`${file} / ${load.name}: ${problem}`);
      }
    }
  }
  writeConformance('worker', counts);
  console.log(`worker vectors: ${JSON.stringify(counts)}`);
  assert.equal(counts.failed, 0, failures.join('\n'));
  assert.ok(counts.passed > 500, `only ${counts.passed} vectors passed`);
});
