// Processes for the end-to-end suite: the admin binary on a throwaway SQLite file, the
// built Worker on local workerd (Miniflare, through the Worker suite's helper) and the Spin
// app in the wasmtime host, wired together as `cargo xtask up` wires them. Every process
// started here is stopped by its `stop()` (the Worker by `mf.dispose()`).
import { execFileSync, spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startWorker as startWorkerWith } from '../../edge-worker/test/helpers.mjs';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const targetDir = process.env.CARGO_TARGET_DIR ?? join(root, 'target');
export const adminBin = process.env.EDGEFLAG_ADMIN_BIN ?? join(targetDir, 'debug', 'edgeflag');
export const hostBin = process.env.EDGEFLAG_WASM_HOST_BIN ?? join(targetDir, 'debug', 'edgeflag-wasm-host');

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Polls `check` until it returns a truthy value or `ms` pass; returns the value. */
export async function until(what, check, ms = 15000, every = 10) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await check();
      if (last) return last;
    } catch (error) {
      last = error;
    }
    await sleep(every);
  }
  throw new Error(`timed out waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
}

/** The built Worker on local workerd (the Worker suite's own helper), trusting `trustedJwks`. */
export function startWorker(trustedJwks) {
  return startWorkerWith([], { EDGEFLAG_TRUSTED_KEYS: trustedJwks, EDGEFLAG_REFRESH_INTERVAL_MS: '1000' });
}

/**
 * The Spin app in the wasmtime host's `serve` mode (what `spin up` would run), on a free
 * port, trusting `trustedJwks`, with more Spin `vars` and the origins it may send to
 * (`allowOutbound`, spin.toml's `allowed_outbound_hosts`). Resolves once it prints its
 * address.
 */
export async function startSpin(trustedJwks, { vars = {}, allowOutbound = [] } = {}) {
  const child = spawn(hostBin, [
    'serve', '127.0.0.1:0',
    '--var', `edgeflag_trusted_keys=${trustedJwks}`,
    '--var', 'edgeflag_refresh_interval_ms=1000',
    // As production Spin apps are configured (spin.toml): one-flag evaluations answer
    // from sealed records.
    '--var', 'edgeflag_seal_secret=the e2e Spin app seal secret, 32+ bytes',
    ...Object.entries(vars).flatMap(([name, value]) => ['--var', `${name}=${value}`]),
    ...allowOutbound.flatMap((origin) => ['--allow-outbound', origin]),
  ], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const url = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const found = out.match(/on (http:\/\/127\.0\.0\.1:\d+)/);
      if (found) resolve(found[1]);
    });
    child.once('exit', (code) => reject(new Error(`the wasm host exited (${code}) before serving: ${out}`)));
  });
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await Promise.race([exited, sleep(5000)]);
  };
  return { url, stop };
}

/** The admin: `init` on a fresh SQLite file, then `serve` publishing to every edge in `edges`. */
export class Admin {
  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'edgeflag-e2e-'));
    this.env = {
      ...process.env,
      EDGEFLAG_DATABASE_URL: `sqlite://${join(this.dir, 'admin.db')}?mode=rwc`,
      EDGEFLAG_LOG: 'warn',
      RUST_LOG: 'warn',
    };
  }

  cli(...args) {
    return execFileSync(adminBin, args, { env: this.env, encoding: 'utf8' });
  }

  /** `edgeflag init`: the owner API key, and the first owner's account (`ownerEmail`, `ownerPassword`). */
  async init() {
    this.ownerEmail = 'owner@example.com';
    const out = this.cli('init', '--owner-email', this.ownerEmail, '--owner-name', 'Olive Owner');
    this.ownerPassword = out.match(/^password \(shown once[^)]*\): (\S+)$/m)?.[1];
    this.ownerKey = out.trim().split('\n').pop().trim();
    return this.ownerKey;
  }

  /**
   * `edges` maps a target name to an edge URL; each becomes a `[[publish.targets]]`.
   * `port` reuses a port (an admin started again where clients expect it).
   */
  async serve(edges, extraEnv = {}, port = undefined) {
    port ??= await freePort();
    this.port = port;
    this.url = `http://127.0.0.1:${port}`;
    const config = join(this.dir, 'edgeflag.toml');
    writeFileSync(config, Object.entries(edges)
      .map(([name, url]) => `[[publish.targets]]\nkind = "edge"\nname = "${name}"\nurl = "${url}"\n`)
      .join('\n'));
    const log = createWriteStream(join(this.dir, 'admin.log'));
    this.process = spawn(adminBin, ['serve'], {
      env: {
        ...this.env,
        EDGEFLAG_CONFIG: config,
        EDGEFLAG_LISTEN: `127.0.0.1:${port}`,
        EDGEFLAG_PUBLISH_COALESCE_MS: '20',
        ...extraEnv,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.process.stdout.pipe(log);
    this.process.stderr.pipe(log);
    this.exited = new Promise((resolve) => this.process.once('exit', resolve));
    await until('the admin to be ready', async () => (await fetch(`${this.url}/readyz`)).ok);
    const token = await this.call('POST', '/v1/auth/token', { apiKey: this.ownerKey }, false);
    this.token = token.accessToken;
  }

  async request(method, path, body, auth = true) {
    const headers = { 'content-type': 'application/json' };
    if (auth) headers.authorization = `Bearer ${this.token}`;
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }

  async call(method, path, body, auth = true) {
    const res = await this.request(method, path, body, auth);
    if (res.status >= 300) {
      throw new Error(`${method} ${path} answered ${res.status}: ${JSON.stringify(res.body)}`);
    }
    return res.body;
  }

  /** SIGKILL: no shutdown hook runs, as in a crash. */
  async kill() {
    this.process.kill('SIGKILL');
    await this.exited;
  }

  async stop() {
    if (this.process && this.process.exitCode === null) {
      this.process.kill('SIGTERM');
      await Promise.race([this.exited, sleep(5000)]);
      if (this.process.exitCode === null) this.process.kill('SIGKILL');
    }
  }
}

/** One OFREP evaluation at the edge: `{status, body}`. */
export async function ofrep(edgeUrl, key, flag, context) {
  const res = await fetch(`${edgeUrl}/ofrep/v1/evaluate/flags/${flag}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ context }),
  });
  return { status: res.status, body: await res.json() };
}
