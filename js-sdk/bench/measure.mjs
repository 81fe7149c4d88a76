// The measurements, shared by node (bench/node.mjs) and Chromium (bench/chromium.mjs).
// The caller passes `createClient` of the entry under test and, optionally, the peers'
// constructors; nothing here imports anything environment-specific.
import { CONTEXT, FLAG, edgeflagSnapshot, flagdConfiguration, growthbookFeatures } from './flags.mjs';

const now = () => performance.now();

/** Nanoseconds per call of `fn`, the median of `rounds` rounds of `n` calls. */
function perCall(fn, n = 200_000, rounds = 5) {
  for (let i = 0; i < 20_000; i += 1) fn(i); // warm up the JIT
  const times = [];
  for (let r = 0; r < rounds; r += 1) {
    const start = now();
    for (let i = 0; i < n; i += 1) fn(i);
    times.push(((now() - start) * 1e6) / n);
  }
  times.sort((a, b) => a - b);
  return Math.round(times[Math.floor(rounds / 2)]);
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** `sign(snapshot)` gives a JWS the client trusts with `jwk`. */
export async function measure({ createClient, sign, jwk, GrowthBook, FlagdCore }) {
  const out = {};
  const token = sign(edgeflagSnapshot(1));
  out.snapshotBytes = token.length;

  let start = now();
  const client = await createClient({ bootstrap: token, publicKeys: [jwk], refreshIntervalMs: 0, context: CONTEXT });
  out.firstClientMs = +(now() - start).toFixed(2); // includes compiling the wasm

  const creates = [];
  for (let i = 0; i < 20; i += 1) {
    start = now();
    const c = await createClient({ bootstrap: token, publicKeys: [jwk], refreshIntervalMs: 0 });
    creates.push(now() - start);
    c.close();
  }
  out.createClientMs = +median(creates).toFixed(3);
  const updates = [];
  for (let v = 2; v < 22; v += 1) {
    const next = sign(edgeflagSnapshot(v));
    start = now();
    client.update(next);
    updates.push(now() - start);
  }
  out.updateMs = +median(updates).toFixed(3); // verify + load + change detection

  const check = client.getBooleanDetails(FLAG, false);
  out.answer = `${check.value}/${check.reason}`;
  out.edgeflagBooleanNs = perCall(() => client.getBooleanValue(FLAG, false));
  out.edgeflagDetailsNs = perCall(() => client.getBooleanDetails(FLAG, false));
  const contexts = Array.from({ length: 1024 }, (_, i) => ({ ...CONTEXT, targetingKey: `user-${i}` }));
  out.edgeflagNewContextNs = perCall((i) => client.getBooleanValue(FLAG, false, contexts[i & 1023]));
  out.edgeflagEvaluateAll100Us = +(perCall(() => client.evaluateAll(), 2_000) / 1000).toFixed(1);
  client.close();

  if (GrowthBook !== undefined) {
    start = now();
    const gb = new GrowthBook({ features: growthbookFeatures(), attributes: { ...CONTEXT, id: CONTEXT.targetingKey } });
    out.growthbookInitMs = +(now() - start).toFixed(3);
    out.growthbookAnswer = String(gb.isOn(FLAG));
    out.growthbookBooleanNs = perCall(() => gb.isOn(FLAG));
  }
  if (FlagdCore !== undefined) {
    const logger = { error() {}, warn() {}, info() {}, debug() {} };
    const core = new FlagdCore(undefined, logger);
    const config = flagdConfiguration();
    start = now();
    core.setConfigurations(config);
    out.flagdInitMs = +(now() - start).toFixed(3);
    out.flagdAnswer = `${core.resolveBooleanEvaluation(FLAG, false, CONTEXT, logger).value}`;
    out.flagdBooleanNs = perCall(() => core.resolveBooleanEvaluation(FLAG, false, CONTEXT, logger), 50_000);
  }
  return out;
}
