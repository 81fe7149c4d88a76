// Shared test helpers: start the built Worker on local workerd (Miniflare) with an
// in-memory KV, and sign publish documents with node's own Ed25519 — an independent
// implementation of the envelope in docs/snapshot-format.md ("Signed snapshots").
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
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

export async function startWorker(trusted, extraBindings = {}) {
  const mf = new Miniflare({
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
    bindings: {
      EDGEFLAG_TRUSTED_KEYS: JSON.stringify({ keys: trusted.map((p) => p.jwk) }),
      EDGEFLAG_REFRESH_INTERVAL_MS: '0',
      ...extraBindings,
    },
    cf: false,
    host: '127.0.0.1',
    port: 0,
  });
  const url = (await mf.ready).toString().replace(/\/$/, '');
  return { mf, url };
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
