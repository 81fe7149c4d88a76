// node bench/ab.mjs <dist-before> <dist-after> — an A/B of two builds of the package in
// one process: both loaded, measured interleaved, the best of 15 rounds each, so that a
// busy machine slows both alike. Copy `dist/` aside before a change to get <dist-before>.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CONTEXT, FLAG, edgeflagSnapshot } from './flags.mjs';
import { publisher } from '../test/helpers.mjs';

const [beforeDir, afterDir] = process.argv.slice(2);
if (afterDir === undefined) {
  console.error('usage: node bench/ab.mjs <dist-before> <dist-after>');
  process.exit(2);
}
const load = (dir) => import(pathToFileURL(resolve(dir, 'node.js')).href);
const builds = { before: await load(beforeDir), after: await load(afterDir) };
const signer = publisher('bench');
const token = signer.sign(edgeflagSnapshot(1));
const ROUNDS = 15;
const UPDATES = 20;
// Each update must be newer than the last: one increasing series per build.
const updates = Array.from({ length: ROUNDS * UPDATES }, (_, i) => signer.sign(edgeflagSnapshot(i + 2)));
const next = { before: 0, after: 0 };
const contexts = Array.from({ length: 1024 }, (_, i) => ({ ...CONTEXT, targetingKey: `user-${i}` }));

/** Nanoseconds per call of `fn` over `n` calls. */
function perCall(fn, n) {
  const start = performance.now();
  for (let i = 0; i < n; i += 1) fn(i);
  return ((performance.now() - start) * 1e6) / n;
}

const clients = {};
for (const [name, build] of Object.entries(builds)) {
  clients[name] = await build.createClient({ bootstrap: token, publicKeys: [signer.jwk], refreshIntervalMs: 0, context: CONTEXT });
}
const cases = {
  getBooleanValue: (c) => perCall(() => c.getBooleanValue(FLAG, false), 100_000),
  getBooleanDetails: (c) => perCall(() => c.getBooleanDetails(FLAG, false), 50_000),
  newContext: (c) => perCall((i) => c.getBooleanValue(FLAG, false, contexts[i & 1023]), 50_000),
  evaluateAll100: (c) => perCall(() => c.evaluateAll(), 500),
  update: (c, name) => perCall(() => c.update(updates[next[name]++]), UPDATES),
};
const best = {};
for (let round = 0; round < ROUNDS; round += 1) {
  for (const [what, run] of Object.entries(cases)) {
    for (const name of round % 2 ? ['before', 'after'] : ['after', 'before']) {
      const key = `${what}/${name}`;
      best[key] = Math.min(best[key] ?? Infinity, run(clients[name], name));
    }
  }
}
for (const what of Object.keys(cases)) {
  const [b, a] = [best[`${what}/before`], best[`${what}/after`]];
  const change = (((a - b) / b) * 100).toFixed(1);
  console.log(`${what.padEnd(18)} before ${b.toFixed(0).padStart(9)} ns  after ${a.toFixed(0).padStart(9)} ns  ${change}%`);
}
