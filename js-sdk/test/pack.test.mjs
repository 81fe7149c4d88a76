// The packed npm tarball installs into a scratch project (no network: it has no
// dependencies, and the OpenFeature peers are optional), type-checks a consumer that
// uses every entry, and evaluates a signed bootstrap through the installed package.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { snapshot } from './fixtures.mjs';
import { publisher, sdk } from './helpers.mjs';

const scratch = mkdtempSync(join(tmpdir(), 'edgeflag-pack-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const CONSUMER = `
import { createClient, EdgeflagError, type EvaluationDetails } from '@edgeflag/js';
import { EdgeflagWebProvider } from '@edgeflag/js/openfeature/web';
import { EdgeflagServerProvider } from '@edgeflag/js/openfeature/server';

export async function main(bootstrap: string, jwk: { kty: 'OKP'; crv: 'Ed25519'; x: string; kid: string }): Promise<boolean> {
  const client = await createClient({ bootstrap, publicKeys: [jwk], context: { targetingKey: 'u1' } });
  const details: EvaluationDetails<number> = client.getNumberDetails('limit', 0);
  // @ts-expect-error a string is not a boolean default
  client.getBooleanValue('banner', 'yes');
  client.on('change', (e) => e.flags.join(','));
  const providers = [new EdgeflagWebProvider(client), new EdgeflagServerProvider(client)];
  try {
    client.update('x.y.z');
  } catch (e) {
    if (e instanceof EdgeflagError && e.code === 'MALFORMED') console.log('refused as expected');
  }
  return providers.length === 2 && details.value === 10 && client.getBooleanValue('banner', true);
}
`;

function run(cmd, args, cwd) {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    throw new Error(`${cmd} ${args.join(' ')} failed:\n${e.stdout}\n${e.stderr}`);
  }
}

it('installs from the tarball, type-checks and runs', () => {
  run('npm', ['pack', '--silent', '--pack-destination', scratch], sdk);
  const tarball = readdirSync(scratch).find((f) => f.endsWith('.tgz'));
  assert.ok(tarball, 'npm pack produced no tarball');
  const project = join(scratch, 'consumer');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', join(scratch, tarball)], project);
  const files = run('tar', ['-tzf', join(scratch, tarball)], scratch);
  assert.match(files, /package\/dist\/wasm\/edgeflag_js_bg\.wasm/);
  assert.doesNotMatch(files, /package\/(ts|src|test)\//);
  // The optional OpenFeature peers (and node's types, which the server SDK's need), as a
  // consumer of the providers would install them.
  for (const scope of ['@openfeature', '@types', 'undici-types']) {
    cpSync(join(sdk, 'node_modules', scope), join(project, 'node_modules', scope), { recursive: true });
  }
  writeFileSync(join(project, 'check.ts'), CONSUMER);
  writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { module: 'nodenext', target: 'es2022', strict: true, outDir: 'out', types: ['node'], lib: ['es2022', 'dom'] },
    files: ['check.ts'],
  }));
  run(join(sdk, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], project);
  const signer = publisher('k1');
  const script = `import { main } from './out/check.js'; console.log(await main(${JSON.stringify(signer.sign(snapshot(1, { fallback: 'on' })))}, ${JSON.stringify(signer.jwk)}));`;
  const out = run(process.execPath, ['--input-type=module', '-e', script], project);
  assert.equal(out.trim().split('\n').at(-1), 'true', out);
  assert.match(out, /refused as expected/);
});
