// Shared helpers of the node and Chromium suites: signing with node's own Ed25519
// (an implementation independent of the engine's, following docs/snapshot-format.md,
// "Signed snapshots"), the shared vectors, a tiny edge on 127.0.0.1, and conformance output.
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const here = dirname(fileURLToPath(import.meta.url));
export const sdk = join(here, '..');
export const root = join(sdk, '..');

const b64url = (bytes) => Buffer.from(bytes).toString('base64url');

export function publisher(kid = 'test-publisher') {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid, alg: 'EdDSA', use: 'sig' };
  return {
    kid,
    jwk,
    /** Signs `snapshot` (an object, or JSON text) as the edge serves client snapshots. */
    sign(snapshot, header = {}) {
      const doc = typeof snapshot === 'string' ? parseOrNothing(snapshot) : snapshot;
      const claims = { env: doc.environment, ver: doc.version, aud: 'client', ...header };
      const protectedHeader = b64url(JSON.stringify({ alg: 'EdDSA', typ: 'edgeflag-snapshot+jws', kid, ...claims }));
      const input = `${protectedHeader}.${b64url(typeof snapshot === 'string' ? snapshot : JSON.stringify(snapshot))}`;
      return `${input}.${b64url(sign(null, Buffer.from(input), privateKey))}`;
    },
  };
}

const vectorsDir = join(root, 'tests', 'vectors');

/** Every vector file, in index order: `{file: doc}`. */
export function vectorFiles() {
  const index = JSON.parse(readFileSync(join(vectorsDir, 'index.json'), 'utf8'));
  return Object.fromEntries(index.files.map((f) => [f, JSON.parse(readFileSync(join(vectorsDir, f), 'utf8'))]));
}

export function suppressionsFor(runtime) {
  return JSON.parse(readFileSync(join(vectorsDir, 'suppressions.json'), 'utf8'))[runtime] ?? [];
}

/** `text` as JSON, or `{}` when it is not JSON (a vector's refused snapshot text). */
function parseOrNothing(text) {
  try {
    return JSON.parse(text);
  } catch {
    return {};
  }
}

/**
 * One signed token per load of every vector file (`{file: {name: token}}`): the text
 * signed byte for byte, its header claiming the environment and version every load's
 * text uses, so that only the engine's load decides.
 */
export function signedLoads(signer, files) {
  return Object.fromEntries(Object.entries(files).map(([f, doc]) => [
    f,
    Object.fromEntries((doc.loads ?? []).map((l) => [l.name, signer.sign(l.text, { env: 'vectors', ver: 1 })])),
  ]));
}

/** One signed token per vector file, each file's snapshot signed as a client snapshot. */
export function signedVectors(signer, files) {
  return Object.fromEntries(Object.entries(files).map(([f, doc]) => [f, signer.sign(doc.snapshot)]));
}

export function writeConformance(runtime, counts) {
  const dir = process.env.EDGEFLAG_CONFORMANCE_DIR ?? join(root, 'target', 'conformance');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${runtime}.json`), JSON.stringify({ runtime, ...counts }));
}

/** The server and client snapshots the admin built (written by admin/tests/privacy.rs). */
export function adminSnapshots() {
  return JSON.parse(readFileSync(join(root, 'tests', 'fixtures', 'admin-client-snapshot.json'), 'utf8'));
}

export function demoSnapshot(version) {
  const doc = JSON.parse(readFileSync(join(root, 'examples', 'demo-snapshot.json'), 'utf8'));
  return { ...doc, version };
}

/**
 * A stand-in for the edge's client routes on 127.0.0.1 (random port):
 * `/.well-known/flags/{key}` with ETag / If-None-Match, and `/.well-known/jwks.json`.
 * `edge.serve(token)` changes what it serves; `edge.requests` records what arrived.
 *
 * With `edge.live = true` it also offers an event stream, as the Worker does: the
 * snapshot names it in the `edgeflag-event-stream` header (with `edge.streamToken`),
 * `/v1/events` answers `edge.streamStatus` (default 200) and keeps the stream open,
 * `edge.push(version, clientSnapshot?)` sends a `refetchEvaluation` event (carrying the
 * signed snapshot, as an Edgeflag edge does, when given) to every open stream, and
 * `edge.dropStreams()` ends them. `edge.streams` records each stream request.
 */
export async function startEdge({ clientKey, jwks, fallback }) {
  const edge = {
    token: undefined, requests: [], status: undefined,
    live: false, streamToken: 't1', streamStatus: 200, streams: [], open: new Set(),
  };
  const server = createServer((req, res) => {
    const [path, query = ''] = req.url.split('?');
    edge.requests.push({ url: req.url, path, query, ifNoneMatch: req.headers['if-none-match'] });
    res.setHeader('access-control-allow-origin', '*');
    res.setHeader('access-control-expose-headers', 'etag, edgeflag-event-stream');
    if (path === '/.well-known/jwks.json') {
      res.setHeader('content-type', 'application/json');
      return res.end(JSON.stringify(jwks));
    }
    if (path === '/v1/events' && edge.live) return stream(req, res, query);
    if (!path.startsWith('/.well-known/') && fallback !== undefined) return fallback(req, res);
    if (path !== `/.well-known/flags/${clientKey}` || edge.token === undefined) {
      res.statusCode = 404;
      return res.end('{}');
    }
    if (edge.status !== undefined) {
      res.statusCode = edge.status;
      return res.end();
    }
    if (edge.live) res.setHeader('edgeflag-event-stream', `/v1/events?token=${edge.streamToken}`);
    const etag = `"${Buffer.from(edge.token.slice(-16)).toString('hex')}"`;
    if (req.headers['if-none-match'] === etag) {
      res.statusCode = 304;
      return res.end();
    }
    res.setHeader('etag', etag);
    res.setHeader('content-type', 'application/jose');
    res.end(edge.token);
  });
  function stream(req, res, query) {
    const token = new URLSearchParams(query).get('token');
    edge.streams.push({ token, lastEventId: req.headers['last-event-id'], at: Date.now() });
    const status = typeof edge.streamStatus === 'function' ? edge.streamStatus(token) : edge.streamStatus;
    if (status !== 200) {
      res.statusCode = status;
      return res.end();
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
    res.write('retry: 100\n:ok\n\n');
    edge.open.add(res);
    req.on('close', () => edge.open.delete(res));
  }
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  edge.url = `http://127.0.0.1:${server.address().port}`;
  edge.serve = (token) => {
    edge.token = token;
  };
  edge.push = (version, clientSnapshot) => {
    const carried = clientSnapshot === undefined ? '' : `,"clientSnapshot":"${clientSnapshot}"`;
    const event = `id: ${version}\ndata: {"type":"refetchEvaluation","etag":"\\"${version}\\""${carried}}\n\n`;
    for (const res of edge.open) res.write(event);
  };
  edge.dropStreams = () => {
    for (const res of edge.open) res.end();
    edge.open.clear();
  };
  edge.snapshotFetches = () => edge.requests.filter((r) => r.path === `/.well-known/flags/${clientKey}`);
  edge.close = () => {
    edge.dropStreams();
    server.closeAllConnections?.();
    return new Promise((resolve) => server.close(resolve));
  };
  return edge;
}
