// node bench/chromium.mjs — the same measurements in Debian's Chromium (see bench/node.mjs).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { openPage } from '../test/browser.mjs';
import { publisher, sdk } from '../test/helpers.mjs';
import { edgeflagSnapshot } from './flags.mjs';

execFileSync(join(sdk, 'node_modules', '.bin', 'esbuild'), [
  'bench/peers-entry.mjs', '--bundle', '--format=esm', '--platform=browser', '--log-level=warning', '--outfile=bench/.build/peers.js',
], { cwd: sdk, stdio: 'inherit' });

const signer = publisher('bench');
const tokens = {};
for (let v = 1; v < 22; v += 1) tokens[v] = signer.sign(edgeflagSnapshot(v));
const browser = await openPage({ clientKey: 'unused', jwks: { keys: [] } });
try {
  const version = await browser.page.evaluate(() => navigator.userAgent.match(/Chrome\/[\d.]+/)?.[0]);
  const results = await browser.page.evaluate(async ({ tokens, jwk }) => {
    const { measure } = await import('/bench/measure.mjs');
    const { createClient } = await import('/dist/browser.js');
    const { GrowthBook, FlagdCore } = await import('/bench/.build/peers.js');
    return measure({ createClient, sign: (s) => tokens[s.version], jwk, GrowthBook, FlagdCore });
  }, { tokens, jwk: signer.jwk });
  console.log(JSON.stringify({ runtime: version, ...results }, null, 2));
} finally {
  await browser.close();
}
