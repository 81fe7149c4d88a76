// The system a server SDK's integration test talks to, as separate processes: the admin
// binary on a throwaway SQLite file publishing to the built Worker on local workerd
// (Miniflare), both started exactly as the end-to-end suite starts them
// (tests/e2e/harness.mjs). In front of the Worker sits a small proxy that can tamper with
// the server snapshot in flight, so a test can show that an SDK refuses what does not
// verify. Run with the Worker package's node 22:
//
//   EDGEFLAG_ADMIN_BIN=… edge-worker/node_modules/.bin/node sdk/testing/stack.mjs
//
// It prints one JSON line — {admin, token, edge, worker, serverKey, clientKey, project,
// environment, edgeEnvironment, flag} — once the edge serves the first flag, then runs
// until its standard input closes (the test ended, or died) or it gets SIGTERM, and stops
// every process it started. `POST {edge}/__tamper` with body `on` or `off` switches the
// tampering; everything else is forwarded to the Worker unchanged.
import http from 'node:http';
import { Admin, ofrep, startWorker, until } from '../../tests/e2e/harness.mjs';

const PROJECT = 'shop';
const ENV = 'production';
const FLAG = 'new-checkout';
const staff = { targetingKey: 'user-1', email: 'ada@example.com' };

/** The flag's targeting: staff get `on`; everyone else `defaultVariation`. */
export function targeting(defaultVariation) {
  return {
    enabled: true,
    offVariation: 'off',
    rules: [{ id: 'staff', conditions: [{ attribute: 'email', op: 'endsWith', values: ['@example.com'] }], serve: { variation: 'on' } }],
    defaultRule: { variation: defaultVariation },
  };
}

/** A JWS whose payload was changed after signing: same header, same signature. */
function tamper(jws) {
  const [header, payload, signature] = jws.split('.');
  const text = Buffer.from(payload, 'base64url').toString('utf8');
  const forged = text.includes('"enabled":false')
    ? text.replace('"enabled":false', '"enabled":true')
    : text.replace('"enabled":true', '"enabled":false');
  return `${header}.${Buffer.from(forged).toString('base64url')}.${signature}`;
}

async function body(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function startProxy(upstream) {
  let tampering = false;
  const hopByHop = new Set(['connection', 'content-length', 'content-encoding', 'transfer-encoding', 'keep-alive', 'host']);
  const server = http.createServer(async (req, res) => {
    try {
      const input = await body(req);
      if (req.url === '/__tamper') {
        tampering = input.toString().trim() === 'on';
        res.writeHead(200, { 'content-type': 'text/plain' }).end(tampering ? 'on' : 'off');
        return;
      }
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !hopByHop.has(k)));
      const answer = await fetch(`${upstream}${req.url}`, {
        method: req.method,
        headers,
        body: ['GET', 'HEAD'].includes(req.method) ? undefined : input,
      });
      let out = Buffer.from(await answer.arrayBuffer());
      if (tampering && answer.status === 200 && req.url.startsWith('/v1/snapshot')) {
        out = Buffer.from(tamper(out.toString('utf8')));
      }
      const outHeaders = {};
      answer.headers.forEach((value, key) => {
        if (!hopByHop.has(key)) outHeaders[key] = value;
      });
      res.writeHead(answer.status, outHeaders).end(out);
    } catch (error) {
      res.writeHead(502, { 'content-type': 'text/plain' }).end(String(error));
    }
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${server.address().port}`, server }));
  });
}

const admin = new Admin();
let worker;
let proxy;
let stopping = false;

async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  proxy?.server.close();
  await admin.stop();
  await worker?.mf.dispose();
  process.exit(code);
}

process.on('SIGTERM', () => stop(0));
process.on('SIGINT', () => stop(0));
process.stdin.on('end', () => stop(0));
process.stdin.on('close', () => stop(0));
process.stdin.resume();

try {
  await admin.init();
  worker = await startWorker(admin.cli('jwks').trim());
  proxy = await startProxy(worker.url);
  await admin.serve({ worker: worker.url });
  await admin.call('POST', '/v1/projects', { key: PROJECT, name: 'Shop' });
  await admin.call('POST', `/v1/projects/${PROJECT}/environments`, { key: ENV, name: 'Production' });
  const keys = `/v1/projects/${PROJECT}/environments/${ENV}/sdk-keys`;
  const serverKey = (await admin.call('POST', keys, { kind: 'server' })).secret;
  const clientKey = (await admin.call('POST', keys, { kind: 'client' })).secret;
  await admin.call('POST', `/v1/projects/${PROJECT}/flags`, {
    key: FLAG,
    name: 'New checkout',
    type: 'boolean',
    variations: [{ key: 'on', value: true }, { key: 'off', value: false }],
    environments: { [ENV]: targeting('off') },
  });
  await until(`${FLAG} at the Worker`, async () => (await ofrep(worker.url, serverKey, FLAG, staff)).body.value === true);
  console.log(JSON.stringify({
    admin: admin.url,
    token: admin.token,
    edge: proxy.url,
    worker: worker.url,
    serverKey,
    clientKey,
    project: PROJECT,
    environment: ENV,
    edgeEnvironment: `${PROJECT}-${ENV}`,
    flag: FLAG,
  }));
} catch (error) {
  console.error(`stack: ${error.stack ?? error}`);
  await stop(1);
}
