// Every shared vector through the SDK's node entry: each file's snapshot is signed,
// given to `createClient` as a bootstrap (so verification runs too), and every case is
// evaluated through the public API. Writes the `js-node` conformance row.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { createClient } from '../dist/node.js';
import { publisher, signedLoads, signedVectors, suppressionsFor, vectorFiles, writeConformance } from './helpers.mjs';
import { runVectors } from './vectors-core.mjs';

it('passes every shared vector in node', async () => {
  const signer = publisher();
  const files = vectorFiles();
  const { counts, failures } = await runVectors({
    createClient,
    files,
    tokens: signedVectors(signer, files),
    loadTokens: signedLoads(signer, files),
    jwk: signer.jwk,
    suppressed: suppressionsFor('js-node'),
  });
  writeConformance('js-node', counts);
  console.log(`js-node vectors: ${JSON.stringify(counts)}`);
  assert.deepEqual(failures, []);
  assert.ok(counts.passed > 500, `only ${counts.passed} vectors passed`);
});
