// Compares the SDK's answers from the two snapshots the admin built for one environment
// (tests/fixtures/admin-client-snapshot.json, written by admin/tests/privacy.rs): the
// server snapshot (schemaVersion 1, every flag, people in clear) and the client snapshot
// (schemaVersion 2, audience `client`, people hashed). Shared by the node suite and the
// Chromium page, so it imports nothing: the caller passes `createClient` of the entry
// under test, the two snapshots signed, and the fixture's contexts.

const NOW = 1_795_608_000_000;

/**
 * Every client-visible flag must answer alike from both snapshots, for every context
 * (value, variant, reason, error, rule, prerequisite, version: the whole result); every
 * other flag must be FLAG_NOT_FOUND from the client snapshot, and left out of `flags()`
 * and `evaluateAll`. Returns `{checked, visible, failures}`.
 */
export async function compareAudiences({ createClient, serverToken, clientToken, jwk, contexts }) {
  const open = (bootstrap) => createClient({ bootstrap, publicKeys: [jwk], refreshIntervalMs: 0, now: () => NOW });
  const [server, client] = [await open(serverToken), await open(clientToken)];
  const failures = [];
  const visible = client.flags().map((f) => f.key);
  let checked = 0;
  try {
    for (const context of contexts) {
      const shown = JSON.stringify(context);
      for (const { key } of server.flags()) {
        const edge = JSON.stringify(server.evaluate(key, context));
        const browser = client.evaluate(key, context);
        checked += 1;
        if (visible.includes(key)) {
          if (JSON.stringify(browser) !== edge) failures.push(`${key} for ${shown}: server ${edge}, client ${JSON.stringify(browser)}`);
        } else if (browser.errorCode !== 'FLAG_NOT_FOUND' || 'value' in browser || 'variant' in browser) {
          failures.push(`${key} for ${shown}: a server-only flag answered ${JSON.stringify(browser)}`);
        }
      }
      const all = Object.keys(client.evaluateAll(context));
      if (JSON.stringify(all) !== JSON.stringify(visible)) failures.push(`evaluateAll for ${shown} answered ${all}`);
    }
  } finally {
    server.close();
    client.close();
  }
  return { checked, visible, failures };
}
