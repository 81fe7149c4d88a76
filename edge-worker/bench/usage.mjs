// Evaluation counting on the Worker: throughput of single OFREP evaluations with
// counting off and on (alternating, twice each), and end to end, that the counts the
// Worker sends equal the 2xx responses it gave. The admin here is a small node server
// that sums the items it is sent (the admin's own exactness is tested in admin/tests).
// Run: `cargo xtask build-worker`, then `cd edge-worker && node bench/usage.mjs`.
import http from 'node:http';
import autocannon from 'autocannon';
import { demoSnapshot, keysFor, publish, publishBody, publisher, startWorker } from '../test/helpers.mjs';

const DURATION = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const SERVER = 'srv_bench';

let counted = 0;
const admin = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    for (const item of JSON.parse(body).items) counted += item.count;
    res.writeHead(202).end('{}');
  });
});
await new Promise((resolve) => admin.listen(0, '127.0.0.1', resolve));
const signer = publisher();

async function worker(counting) {
  const bindings = { EDGEFLAG_REFRESH_INTERVAL_MS: '5000' };
  if (counting) {
    Object.assign(bindings, {
      EDGEFLAG_USAGE_URL: `http://127.0.0.1:${admin.address().port}`,
      EDGEFLAG_USAGE_KEY: 'efi_bench',
      EDGEFLAG_USAGE_INTERVAL_MS: '1000',
    });
  }
  const w = await startWorker([signer], bindings);
  const res = await publish(w.url, 'production', publishBody(signer, demoSnapshot('production', 1), keysFor(SERVER, 'cli_bench')));
  if (res.status !== 200) throw new Error(JSON.stringify(res.body));
  return w;
}

async function load(url) {
  const result = await autocannon({
    url: `${url}/ofrep/v1/evaluate/flags/new-checkout`, method: 'POST', connections: CONNECTIONS, duration: DURATION,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${SERVER}` },
    body: JSON.stringify({ context: { targetingKey: 'user-1', email: 'ada@example.com' } }),
  });
  return { rps: Math.round(result.requests.average), p99: result.latency.p99, ok2xx: result['2xx'], non2xx: result.non2xx };
}

const off = await worker(false);
const on = await worker(true);
const rows = [];
let sent2xx = 0;
for (let round = 1; round <= ROUNDS; round += 1) {
  rows.push({ counting: 'off', round, ...(await load(off.url)) });
  const r = await load(on.url);
  sent2xx += r.ok2xx;
  rows.push({ counting: 'on', round, ...r });
}
// One more request after the interval makes the isolate send what it still holds.
await new Promise((r) => setTimeout(r, 1200));
const last = await fetch(`${on.url}/ofrep/v1/evaluate/flags/new-checkout`, {
  method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${SERVER}` }, body: '{"context":{"targetingKey":"u"}}',
});
if (last.ok) sent2xx += 1;
const deadline = Date.now() + 60_000;
while (counted < sent2xx && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
console.table(rows);
const mean = (c) => rows.filter((r) => r.counting === c).reduce((n, r) => n + r.rps, 0) / ROUNDS;
console.log(`throughput change with counting on: ${(((mean('on') - mean('off')) / mean('off')) * 100).toFixed(1)} %`);
console.log(`2xx responses with counting on: ${sent2xx}; evaluations counted at the admin: ${counted}`);
await off.mf.dispose();
await on.mf.dispose();
admin.close();
