// The chain from the admin to the browser, on what the admin really publishes: the
// environment's server and client snapshots it built (tests/fixtures/
// admin-client-snapshot.json, kept current by admin/tests/privacy.rs), signed and loaded
// in node. The client snapshot names no one, is schemaVersion 2, and answers every
// client-visible flag exactly as the server snapshot does; the Chromium suite runs the
// same comparison through the browser entry.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { createClient } from '../dist/node.js';
import { compareAudiences } from './admin-snapshots-core.mjs';
import { adminSnapshots, publisher } from './helpers.mjs';

const fixture = adminSnapshots();
const signer = publisher('k1');

it('reads the admin-built client snapshot: schemaVersion 2, hashed, naming no one', () => {
  const { client, secrets } = fixture;
  assert.deepEqual([client.schemaVersion, client.audience, typeof client.hashSalt], [2, 'client', 'string']);
  const text = JSON.stringify(client);
  for (const secret of secrets) assert.ok(!text.includes(secret), `${secret} is readable in the client snapshot`);
});

it('answers every client-visible flag of the admin-built client snapshot as its server snapshot does', async () => {
  const { checked, visible, failures } = await compareAudiences({
    createClient,
    // The SDK takes only envelopes addressed to clients; the document inside still says
    // it is a schemaVersion 1 (server) snapshot, which answers every flag.
    serverToken: signer.sign(fixture.server),
    clientToken: signer.sign(fixture.client),
    jwk: signer.jwk,
    contexts: fixture.contexts,
  });
  assert.deepEqual(failures, []);
  assert.deepEqual(visible, ['banner', 'plan']);
  assert.equal(checked, fixture.contexts.length * fixture.server.flags.length);
});
