// Drives Debian's Chromium (never a downloaded browser) through playwright-core, with
// the page, the package and the edge's client routes served from one 127.0.0.1 server.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { chromium } from 'playwright-core';
import { sdk, startEdge } from './helpers.mjs';

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };
const SERVED = ['/dist/', '/test/', '/bench/', '/node_modules/@openfeature/'];

/** Pages a test adds at run time (path → HTML). */
export const pages = new Map();
/** The edge stand-in, whose `onNext` a page can trigger through `/test/serve-next`. */
let edgeRef = {};
/** Where a page finds the installed package, as after `npm install @edgeflag/js`. */
const INSTALLED = '/node_modules/@edgeflag/js/dist/';

function serveFile(req, res) {
  let path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
  if (path === '/test/serve-next') {
    edgeRef.onNext?.();
    return res.end();
  }
  if (pages.has(path)) {
    res.setHeader('content-type', 'text/html');
    return res.end(pages.get(path));
  }
  if (path.startsWith(INSTALLED)) path = `/dist/${path.slice(INSTALLED.length)}`;
  if (!SERVED.some((prefix) => path.startsWith(prefix))) {
    res.statusCode = 404;
    return res.end();
  }
  try {
    const body = readFileSync(join(sdk, path));
    res.setHeader('content-type', TYPES[extname(path)] ?? 'application/octet-stream');
    res.end(body);
  } catch {
    res.statusCode = 404;
    res.end();
  }
}

/** Starts the server and the browser, and opens the test page. */
export async function openPage({ clientKey, jwks }) {
  const edge = await startEdge({ clientKey, jwks, fallback: serveFile });
  edgeRef = edge;
  const profile = mkdtempSync(join(tmpdir(), 'edgeflag-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const logs = [];
  page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
  await page.goto(`${edge.url}/test/browser/page.html`);
  await page.waitForFunction(() => window.edgeflagReady === true, null, { timeout: 15_000 }).catch((e) => {
    throw new Error(`${e.message}\n${logs.join('\n')}`);
  });
  return {
    edge,
    page,
    logs,
    async close() {
      await context.close();
      await edge.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
