// The setup the insights test and benchmark share: the real admin (SQLite) and the
// Worker on local workerd counting evaluations into it with an ingestion key, and, when
// asked, the Spin app (wasmtime host) counting into it too.
import { freePort, startWorker } from '../../edge-worker/test/helpers.mjs';
import { Admin, ofrep, startSpin, until } from './harness.mjs';

export const PROJECT = 'insights';

/**
 * The admin with project `insights`, environment `production` and a boolean flag
 * `checkout` serving `on` to user-0…user-2 and `off` to everyone else; the Worker
 * sending its counts every `intervalMs`. Resolves `{ admin, worker, serverKey }` once
 * the Worker serves the flag. With `spin`, the Spin app counts too (each request's
 * counts sent after its response) and is published to; it resolves as `spin`.
 */
export async function startCounting({ intervalMs = 500, adminLog, spin: withSpin = false } = {}) {
  const admin = new Admin();
  if (adminLog) admin.env.EDGEFLAG_LOG = adminLog;
  await admin.init();
  // The Worker needs the admin's address and an ingestion key before it starts, and the
  // admin needs the Worker's address as a publish target: serve once to make the key,
  // then again on the same port with the Worker as target.
  const port = await freePort();
  await admin.serve({}, {}, port);
  await admin.call('POST', '/v1/projects', { key: PROJECT, name: 'Insights' });
  await admin.call('POST', `/v1/projects/${PROJECT}/environments`, { key: 'production', name: 'Production' });
  await admin.call('POST', `/v1/projects/${PROJECT}/flags`, {
    key: 'checkout',
    name: 'Checkout',
    type: 'boolean',
    variations: [{ key: 'on', value: true }, { key: 'off', value: false }],
  });
  await admin.call('PUT', `/v1/projects/${PROJECT}/flags/checkout/environments/production`, {
    enabled: true,
    offVariation: 'off',
    targets: [{ variation: 'on', values: ['user-0', 'user-1', 'user-2'] }],
    rules: [],
    defaultRule: { variation: 'off' },
  });
  const serverKey = (await admin.call('POST', `/v1/projects/${PROJECT}/environments/production/sdk-keys`, { kind: 'server' })).secret;
  const ingestion = (await admin.call('POST', '/v1/ingestion-keys', { name: 'worker' })).secret;
  const worker = await startWorker([], {
    EDGEFLAG_TRUSTED_KEYS: admin.cli('jwks').trim(),
    EDGEFLAG_REFRESH_INTERVAL_MS: '1000',
    EDGEFLAG_USAGE_URL: admin.url,
    EDGEFLAG_USAGE_KEY: ingestion,
    EDGEFLAG_USAGE_INTERVAL_MS: String(intervalMs),
  });
  const spin = withSpin
    ? await startSpin(admin.cli('jwks').trim(), {
      vars: { edgeflag_usage_url: admin.url, edgeflag_usage_key: ingestion },
      allowOutbound: [admin.url],
    })
    : undefined;
  await admin.stop();
  await admin.serve(spin ? { worker: worker.url, spin: spin.url } : { worker: worker.url }, {}, port);
  for (const edge of spin ? [worker, spin] : [worker]) {
    await until('the edge to serve the flag', async () => (await ofrep(edge.url, serverKey, 'checkout', { targetingKey: 'user-0' })).status === 200);
  }
  return { admin, worker, serverKey, spin };
}

/** The flag's counts in production over the last hour: `{ total, variants }`. */
export async function counted(admin) {
  const to = new Date(Date.now() + 120_000).toISOString();
  const from = new Date(Date.now() - 3_600_000).toISOString();
  const usage = await admin.call('GET', `/v1/projects/${PROJECT}/flags/checkout/usage?resolution=minute&environment=production&from=${from}&to=${to}`);
  const variants = {};
  for (const b of usage.buckets) for (const [v, n] of Object.entries(b.variants)) variants[v] = (variants[v] ?? 0) + n;
  return { total: usage.total, variants };
}
