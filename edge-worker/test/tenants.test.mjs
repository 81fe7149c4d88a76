// The Worker serving several organizations: each environment is bound to the
// organization whose key first published it, and an archived environment (a key
// index marked `retired`) answers 410 while its revocations still arrive.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  demoSnapshot, hashKey, keysFor, ofrep, publish, publishBody, publisher, startWorker,
} from './helpers.mjs';

const orgA = publisher('org-a-key');
orgA.jwk.org = 'org_a';
const orgB = publisher('org-b-key');
orgB.jwk.org = 'org_b';
let mf;
let url;

before(async () => {
  ({ mf, url } = await startWorker([orgA, orgB]));
});
after(() => mf?.dispose());

/** A publish whose key index is marked retired (archived) or not. */
function body(signer, env, version, keys, retired = false) {
  const docs = publishBody(signer, demoSnapshot(env, version), keys);
  if (retired) {
    docs.keys = signer.sign({ environment: env, version, keys, retired: true }, { env, ver: version, aud: 'keys' });
  }
  return docs;
}

describe('organizations', () => {
  it('refuses a snapshot signed by another organization, though its signature is valid', async () => {
    const keys = keysFor('srv_a', 'cli_a');
    assert.equal((await publish(url, 'a-prod', body(orgA, 'a-prod', 1, keys))).status, 200);
    const res = await publish(url, 'a-prod', body(orgB, 'a-prod', 2, keys));
    assert.equal(res.status, 403, JSON.stringify(res.body));
    assert.match(res.body.error.message, /org_a/);
    assert.equal((await publish(url, 'a-prod', body(orgA, 'a-prod', 2, keys))).status, 200);
    const jwks = await (await fetch(`${url}/.well-known/jwks.json`)).json();
    assert.deepEqual(jwks.keys.map((k) => k.org), ['org_a', 'org_b']);
  });
});

describe('archived environments', () => {
  it('answer 410, and a revocation made while archived still arrives', async () => {
    const extra = [{ hash: hashKey('srv_b_2'), kind: 'server' }];
    assert.equal((await publish(url, 'b-prod', body(orgB, 'b-prod', 1, keysFor('srv_b', 'cli_b', extra)))).status, 200);
    assert.equal((await ofrep(url, 'srv_b_2', 'new-checkout', { targetingKey: 'u' })).status, 200);
    assert.equal((await publish(url, 'b-prod', body(orgB, 'b-prod', 2, keysFor('srv_b', 'cli_b', extra), true))).status, 200);
    const archived = await ofrep(url, 'srv_b', 'new-checkout', { targetingKey: 'u' });
    assert.equal(archived.status, 410);
    assert.equal((await archived.json()).errorCode, 'ENVIRONMENT_ARCHIVED');
    assert.equal((await fetch(`${url}/.well-known/flags/cli_b`)).status, 410);
    assert.equal((await publish(url, 'b-prod', body(orgB, 'b-prod', 3, keysFor('srv_b', 'cli_b'), true))).status, 200);
    assert.equal((await ofrep(url, 'srv_b_2', 'new-checkout', { targetingKey: 'u' })).status, 401);
    assert.equal((await publish(url, 'b-prod', body(orgB, 'b-prod', 4, keysFor('srv_b', 'cli_b')))).status, 200);
    assert.equal((await ofrep(url, 'srv_b', 'new-checkout', { targetingKey: 'u' })).status, 200);
    assert.equal((await ofrep(url, 'srv_b_2', 'new-checkout', { targetingKey: 'u' })).status, 401);
  });
});
