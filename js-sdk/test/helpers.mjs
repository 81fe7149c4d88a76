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
 */
export async function startEdge({ clientKey, jwks, fallback }) {
  const edge = { token: undefined, requests: [], status: undefined };
  const server = createServer((req, res) => {
    edge.requests.push({ url: req.url, ifNoneMatch: req.headers['if-none-match'] });
    res.setHeader('access-control-allow-origin', '*');
    if (req.url === '/.well-known/jwks.json') {
      res.setHeader('content-type', 'application/json');
      return res.end(JSON.stringify(jwks));
    }
    if (!req.url.startsWith('/.well-known/') && fallback !== undefined) return fallback(req, res);
    if (req.url !== `/.well-known/flags/${clientKey}` || edge.token === undefined) {
      res.statusCode = 404;
      return res.end('{}');
    }
    if (edge.status !== undefined) {
      res.statusCode = edge.status;
      return res.end();
    }
    const etag = `"${Buffer.from(edge.token.slice(-16)).toString('hex')}"`;
    if (req.headers['if-none-match'] === etag) {
      res.statusCode = 304;
      return res.end();
    }
    res.setHeader('etag', etag);
    res.setHeader('content-type', 'application/jose');
    res.end(edge.token);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  edge.url = `http://127.0.0.1:${server.address().port}`;
  edge.serve = (token) => {
    edge.token = token;
  };
  edge.close = () => new Promise((resolve) => server.close(resolve));
  return edge;
}
