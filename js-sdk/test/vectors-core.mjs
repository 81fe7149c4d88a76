// Runs the shared vectors (tests/vectors/) through the SDK's public API. Shared by
// the node suite and the Chromium page, so it imports nothing: the caller passes
// `createClient` (of the entry under test), the vector files, one signed token per
// file, the trusted key and this runtime's suppressions.

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

/** Returns `{counts, failures}`; counts as tests/vectors/README.md describes them. */
export async function runVectors({ createClient, files, tokens, jwk, suppressed }) {
  const counts = { passed: 0, failed: 0, suppressed: 0, total: 0 };
  const failures = [];
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
      counts.total += 1;
      now = c.now ?? DEFAULT_NOW;
      let problem;
      try {
        problem = runCase(client, c);
      } catch (e) {
        problem = `threw ${e}`;
      }
      const isSuppressed = suppressed.some((s) => s.file === file && s.case === c.name);
      if (problem === null && !isSuppressed) counts.passed += 1;
      else if (problem !== null && isSuppressed) counts.suppressed += 1;
      else {
        counts.failed += 1;
        failures.push(`${file} / ${c.name}: ${problem ?? 'passes but is suppressed; remove it from suppressions.json'}`);
      }
    }
    client.close();
  }
  return { counts, failures };
}
