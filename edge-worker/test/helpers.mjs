// Shared test helpers: start the built Worker on local workerd (Miniflare) with an
// in-memory KV, and sign publish documents with node's own Ed25519 — an independent
// implementation of the envelope in docs/snapshot-format.md ("Signed snapshots").
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { Miniflare } from 'miniflare';

export const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, '..', '..');

const b64url = (bytes) => Buffer.from(bytes).toString('base64url');

export function publisher(kid = 'test-publisher') {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid, alg: 'EdDSA', use: 'sig' };
  return {
    kid,
    jwk,
    /** Signs `payload`: a value, serialized, or JSON text (a string), byte for byte. */
    sign(payload, header, { raw = false } = {}) {
      const protectedHeader = b64url(JSON.stringify({ alg: 'EdDSA', typ: 'edgeflag-snapshot+jws', kid, ...header }));
      const input = `${protectedHeader}.${b64url(raw ? payload : JSON.stringify(payload))}`;
      return `${input}.${b64url(sign(null, Buffer.from(input), privateKey))}`;
    },
  };
}

export const hashKey = (secret) => createHash('sha256').update(secret).digest('hex');

/** The stream secret the suites give the Worker: live updates on. */
export const STREAM_SECRET = 'a test stream secret, 32 bytes or more';

/** Miniflare options for the built Worker: KV, the live-updates Durable Object, variables. */
export function workerOptions(trusted, extraBindings = {}, extra = {}) {
  return {
    modules: true,
    scriptPath: join(root, 'edge-worker', 'build', 'worker', 'shim.mjs'),
    // Module paths relative to the build, so callers may run from any directory.
    modulesRoot: join(root, 'edge-worker', 'build'),
    modulesRules: [
      { type: 'ESModule', include: ['**/*.js'] },
      { type: 'CompiledWasm', include: ['**/*.wasm'] },
    ],
    compatibilityDate: '2026-07-30',
    kvNamespaces: ['FLAGS'],
    durableObjects: { LIVE: 'EdgeflagLive' },
    bindings: {
      EDGEFLAG_TRUSTED_KEYS: JSON.stringify({ keys: trusted.map((p) => p.jwk) }),
      EDGEFLAG_REFRESH_INTERVAL_MS: '0',
      EDGEFLAG_STREAM_SECRET: STREAM_SECRET,
      ...extraBindings,
    },
    cf: false,
    host: '127.0.0.1',
    port: 0,
    ...extra,
  };
}

export async function startWorker(trusted, extraBindings = {}, extra = {}) {
  const mf = new Miniflare(workerOptions(trusted, extraBindings, extra));
  const url = (await mf.ready).toString().replace(/\/$/, '');
  return { mf, url };
}

/** A free TCP port on 127.0.0.1 (for a Worker that must keep its address across a restart). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Reads an event stream with a streaming fetch: `events` collects `{id, data}`,
 * `text` everything received. `close()` ends it.
 */
export async function openStream(url, headers = {}) {
  const abort = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
  const stream = { status: res.status, headers: res.headers, events: [], text: '', ended: false, res };
  if (res.status !== 200) {
    stream.body = await res.text();
    stream.ended = true;
    return stream;
  }
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  stream.done = (async () => {
    let buffer = '';
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        const chunk = decoder.decode(value, { stream: true });
        stream.text += chunk;
        buffer += chunk;
        const blocks = buffer.split('\n\n');
        buffer = blocks.pop();
        for (const block of blocks) {
          const id = block.match(/^id: (.*)$/m)?.[1];
          const data = block.match(/^data: (.*)$/m)?.[1];
          if (data !== undefined) stream.events.push({ id, data: JSON.parse(data), at: performance.now() });
        }
      }
    } catch {
      // aborted, or the connection dropped
    }
    stream.ended = true;
  })();
  stream.close = () => abort.abort();
  return stream;
}

/** The three signed documents of one environment version, as the admin publishes them. */
export function publishBody(signer, snapshot, keys) {
  const env = snapshot.environment;
  const ver = snapshot.version;
  const client = { ...snapshot, flags: snapshot.flags.filter((f) => f.clientVisible) };
  const keyIndex = { environment: env, version: ver, keys };
  return {
    server: signer.sign(snapshot, { env, ver, aud: 'server' }),
    client: signer.sign(client, { env, ver, aud: 'client' }),
    keys: signer.sign(keyIndex, { env, ver, aud: 'keys' }),
  };
}

/**
 * A publish of a snapshot given as JSON text (a vector's load), signed byte for byte as
 * both the server and the client snapshot, under `env` at version 1.
 */
export function publishTextBody(signer, text, env, keys) {
  const header = { env, ver: 1 };
  return {
    server: signer.sign(text, { ...header, aud: 'server' }, { raw: true }),
    client: signer.sign(text, { ...header, aud: 'client' }, { raw: true }),
    keys: signer.sign({ environment: env, version: 1, keys }, { ...header, aud: 'keys' }),
  };
}

export async function publish(url, env, body) {
  const res = await fetch(`${url}/publish/v1/environments/${env}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

export function keysFor(server, client, extra = []) {
  return [
    { hash: hashKey(server), kind: 'server' },
    { hash: hashKey(client), kind: 'client' },
    ...extra,
  ];
}

export function demoSnapshot(environment, version) {
  const doc = JSON.parse(readFileSync(join(root, 'examples', 'demo-snapshot.json'), 'utf8'));
  return { ...doc, environment, version };
}

export function ofrep(url, key, flag, context, extraHeaders = {}) {
  const path = flag === undefined ? '' : `/${flag}`;
  return fetch(`${url}/ofrep/v1/evaluate/flags${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...extraHeaders },
    body: JSON.stringify({ context }),
  });
}

export function writeConformance(runtime, counts) {
  const dir = process.env.EDGEFLAG_CONFORMANCE_DIR ?? join(root, 'target', 'conformance');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${runtime}.json`), JSON.stringify({ runtime, ...counts }));
}
