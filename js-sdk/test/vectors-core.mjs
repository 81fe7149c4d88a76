// Runs the shared vectors (tests/vectors/) through the SDK's public API. Shared by
// the node suite and the Chromium page, so it imports nothing: the caller passes
// `createClient` (of the entry under test), the vector files, one signed token per
// file and per load, the trusted key and this runtime's suppressions.

const DEFAULT_NOW = 1_795_608_000_000;

function strip(result) {
  if (result === undefined || result === null) return result;
  const { errorMessage, ...rest } = result;
  return rest;
}

function same(a, b) {
  if (typeof a === 'number' && typeof b === 'number') return a === b;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => same(x, b[i]));
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && same(a[k], b[k]));
  }
  return a === b;
}

function warningsMatch(expected = [], actual) {
  const fits = (e, a) => e.kind === a.kind && e.key === a.key && (e.path === undefined || e.path === a.path);
  return expected.every((e) => actual.some((a) => fits(e, a))) && actual.every((a) => expected.some((e) => fits(e, a)));
}

function runCase(client, c) {
  if (c.all) {
    const got = Object.fromEntries(Object.entries(client.evaluateAll(c.context)).map(([k, v]) => [k, strip(v)]));
    return same(got, c.expectAll) ? null : `expected ${JSON.stringify(c.expectAll)}, got ${JSON.stringify(got)}`;
  }
  const got = strip(client.evaluate(c.flag, c.context, c.type));
  return same(got, c.expect) ? null : `expected ${JSON.stringify(c.expect)}, got ${JSON.stringify(got)}`;
}

/**
 * One load of a vector file (tests/vectors/README.md, "Loads"): a refused snapshot must
 * make `createClient` throw SNAPSHOT_REFUSED naming the member at fault; an accepted
 * one must give the expected warnings and answers.
 */
async function runLoad(createClient, load, token, jwk) {
  let client;
  try {
    client = await createClient({ bootstrap: token, publicKeys: [jwk], refreshIntervalMs: 0, now: () => DEFAULT_NOW });
  } catch (e) {
    if (load.refused === undefined) return `the snapshot was refused: ${e}`;
    if (e.code !== 'SNAPSHOT_REFUSED') return `refused with ${e.code}: ${e.message}`;
    const member = (load.refused ?? '').replace(/^\//, '');
    return member === '' || e.message.includes(`\`${member}\``) ? null : `the refusal does not name \`${member}\`: ${e.message}`;
  }
  try {
    if (load.refused !== undefined) return 'the snapshot loaded; expected a refusal';
    if (!warningsMatch(load.expectWarnings, client.warnings)) return `load warnings ${JSON.stringify(client.warnings)}`;
    const got = Object.fromEntries(Object.entries(client.evaluateAll({})).map(([k, v]) => [k, strip(v)]));
    return same(got, load.expectAll) ? null : `expected ${JSON.stringify(load.expectAll)}, got ${JSON.stringify(got)}`;
  } finally {
    client.close();
  }
}

/** Returns `{counts, failures}`; counts as tests/vectors/README.md describes them. */
export async function runVectors({ createClient, files, tokens, loadTokens = {}, jwk, suppressed }) {
  const counts = { passed: 0, failed: 0, suppressed: 0, total: 0 };
  const failures = [];
  const record = (file, name, problem) => {
    counts.total += 1;
    const isSuppressed = suppressed.some((s) => s.file === file && s.case === name);
    if (problem === null && !isSuppressed) counts.passed += 1;
    else if (problem !== null && isSuppressed) counts.suppressed += 1;
    else {
      counts.failed += 1;
      failures.push(`${file} / ${name}: ${problem ?? 'passes but is suppressed; remove it from suppressions.json'}`);
    }
  };
  let now = DEFAULT_NOW;
  for (const [file, doc] of Object.entries(files)) {
    const client = await createClient({
      bootstrap: tokens[file],
      publicKeys: [jwk],
      refreshIntervalMs: 0,
      now: () => now,
    });
    if (!warningsMatch(doc.expectWarnings, client.warnings)) {
      failures.push(`${file}: load warnings ${JSON.stringify(client.warnings)}`);
    }
    for (const c of doc.cases) {
      now = c.now ?? DEFAULT_NOW;
      let problem;
      try {
        problem = runCase(client, c);
      } catch (e) {
        problem = `threw ${e}`;
      }
      record(file, c.name, problem);
    }
    client.close();
    for (const load of doc.loads ?? []) {
      let problem;
      try {
        problem = await runLoad(createClient, load, loadTokens[file]?.[load.name], jwk);
      } catch (e) {
        problem = `threw ${e}`;
      }
      record(file, load.name, problem);
    }
  }
  return { counts, failures };
}
