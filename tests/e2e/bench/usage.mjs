// Evaluation insights end to end under load (issue 16): autocannon sends BENCH_REQUESTS
// single OFREP evaluations (BENCH_CONNECTIONS at a time) to the Worker on local workerd,
// which counts them and sends the counts to the real admin (SQLite); the script then
// polls the admin's usage API until it holds as many evaluations as autocannon saw 2xx
// answers, and prints how long that took. A fixed number of requests (not a duration)
// makes autocannon's tally exact. Run from tests/e2e after `cargo xtask test e2e`:
//   EDGEFLAG_ADMIN_BIN=$CARGO_TARGET_DIR/release/edgeflag node bench/usage.mjs
import autocannon from '../../../edge-worker/node_modules/autocannon/autocannon.js';
import { until } from '../harness.mjs';
import { counted, startCounting } from '../insights.mjs';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 50_000);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const INTERVAL = Number(process.env.BENCH_INTERVAL_MS ?? 5000);

const { admin, worker, serverKey } = await startCounting({ intervalMs: INTERVAL });
try {
  await until('the probe to be counted', async () => (await counted(admin)).total > 0, 60000, 250);
  const before = (await counted(admin)).total;
  const result = await autocannon({
    url: `${worker.url}/ofrep/v1/evaluate/flags/checkout`,
    method: 'POST',
    connections: CONNECTIONS,
    amount: REQUESTS,
    headers: { authorization: `Bearer ${serverKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ context: { targetingKey: 'user-7' } }),
  });
  const ended = Date.now();
  const ok = result['2xx'];
  let polls = 0;
  const total = await until('every 2xx to be counted', async () => {
    polls += 1;
    const t = (await counted(admin)).total - before;
    return t >= ok ? t : false;
  }, 120_000, 250);
  const visible = Date.now() - ended;
  console.log(JSON.stringify({
    requests: REQUESTS,
    connections: CONNECTIONS,
    usageIntervalMs: INTERVAL,
    requestsPerSecond: Math.round(result.requests.average),
    '2xx': ok,
    non2xx: result.non2xx,
    errors: result.errors,
    counted: total,
    exact: total === ok,
    visibleAfterMs: visible,
    polls,
  }, null, 2));
  if (total !== ok) process.exitCode = 1;
} finally {
  await worker.mf.dispose();
  await admin.stop();
}
