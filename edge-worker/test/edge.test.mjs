// The Worker on local workerd: publishing, key isolation, the signed client snapshot,
// ETag/304 and bad input, over real HTTP.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  demoSnapshot, hashKey, keysFor, ofrep, publish, publishBody, publisher, startWorker,
} from './helpers.mjs';

const trusted = publisher('publisher-1');
const stranger = publisher('publisher-1'); // same kid, another key
const SERVER = 'srv_prod_test';
const CLIENT = 'cli_prod_test';
let mf;
let url;

before(async () => {
  ({ mf, url } = await startWorker([trusted]));
  const res = await publish(url, 'production', publishBody(trusted, demoSnapshot('production', 1), keysFor(SERVER, CLIENT)));
  assert.equal(res.status, 200, JSON.stringify(res.body));
});
after(() => mf?.dispose());

describe('publish', () => {
  it('refuses bad signatures, unknown keys, older versions and garbage', async () => {
    const doc = demoSnapshot('production', 2);
    const cases = [
      [publishBody(stranger, doc, keysFor(SERVER, CLIENT)), 401, 'UNAUTHORIZED'],
      [publishBody(publisher('nobody'), doc, keysFor(SERVER, CLIENT)), 401, 'UNAUTHORIZED'],
      [publishBody(trusted, demoSnapshot('production', 1), keysFor(SERVER, CLIENT)), 409, 'STALE_VERSION'],
      ['{"server": 1}', 400, 'PARSE_ERROR'],
      ['garbage', 400, 'PARSE_ERROR'],
    ];
    for (const [body, status, code] of cases) {
      const res = await publish(url, 'production', body);
      assert.equal(res.status, status, JSON.stringify(res.body));
      assert.equal(res.body.error.code, code);
    }
  });

  it('serves a newer publish at once', async () => {
    const doc = demoSnapshot('production', 3);
    doc.flags[0].enabled = false; // new-checkout off
    const res = await publish(url, 'production', publishBody(trusted, doc, keysFor(SERVER, CLIENT)));
    assert.equal(res.status, 200);
    assert.equal(res.body.version, 3);
    const flag = await (await ofrep(url, SERVER, 'new-checkout', { targetingKey: 'qa-1' })).json();
    assert.deepEqual([flag.value, flag.reason], [false, 'DISABLED']);
    const health = await (await fetch(`${url}/healthz`, { headers: { authorization: `Bearer ${SERVER}` } })).json();
    assert.equal(health.environments.production.version, 3);
    assert.deepEqual(Object.keys(health.environments), ['production'], 'a key sees its own environment only');
    assert.deepEqual(await (await fetch(`${url}/healthz`)).json(), { status: 'ok' });
  });
});

describe('keys', () => {
  it('isolates environments and refuses client keys on server routes', async () => {
    const staging = demoSnapshot('staging', 1);
    staging.flags = [{
      key: 'staging-only', type: 'boolean', enabled: true, offVariation: 'off',
      variations: [{ key: 'on', value: true }, { key: 'off', value: false }], defaultRule: { variation: 'on' },
    }];
    assert.equal((await publish(url, 'staging', publishBody(trusted, staging, keysFor('srv_staging', 'cli_staging')))).status, 200);
    assert.equal((await ofrep(url, 'srv_staging', 'staging-only', { targetingKey: 'u' })).status, 200);
    const crossed = await ofrep(url, SERVER, 'staging-only', { targetingKey: 'u' });
    assert.equal(crossed.status, 404);
    assert.equal((await crossed.json()).errorCode, 'FLAG_NOT_FOUND');
    assert.equal((await ofrep(url, CLIENT, 'new-checkout', {})).status, 403);
    assert.equal((await ofrep(url, 'wrong', 'new-checkout', {})).status, 401);
    const anonymous = await fetch(`${url}/ofrep/v1/evaluate/flags/new-checkout`, { method: 'POST' });
    assert.equal(anonymous.status, 401);
  });

  it('serves the signed client snapshot, client-visible flags only, with ETag', async () => {
    const res = await fetch(`${url}/.well-known/flags/${CLIENT}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/jose');
    const jws = await res.text();
    const [header, payload] = jws.split('.').slice(0, 2).map((p) => JSON.parse(Buffer.from(p, 'base64url')));
    assert.equal(header.aud, 'client');
    assert.deepEqual(payload.flags.map((f) => f.key), ['new-checkout', 'checkout-banner']);
    const again = await fetch(`${url}/.well-known/flags/${CLIENT}`, { headers: { 'if-none-match': res.headers.get('etag') } });
    assert.equal(again.status, 304);
    assert.equal((await fetch(`${url}/.well-known/flags/${SERVER}`)).status, 403);
    const jwks = await (await fetch(`${url}/.well-known/jwks.json`)).json();
    assert.equal(jwks.keys[0].kid, 'publisher-1');
    assert.equal(jwks.keys[0].x, trusted.jwk.x);
  });

  it('stores only hashes of keys', async () => {
    const kv = await mf.getKVNamespace('FLAGS');
    const names = (await kv.list()).keys.map((k) => k.name);
    assert.ok(names.includes(`sdk-key/${hashKey(SERVER)}`));
    assert.ok(!names.some((n) => n.includes(SERVER)));
  });
});

describe('OFREP', () => {
  it('answers bulk evaluations with an ETag and 304', async () => {
    const res = await ofrep(url, SERVER, undefined, { targetingKey: 'user-1' });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.flags.length, 4);
    const etag = res.headers.get('etag');
    assert.ok(etag);
    const again = await ofrep(url, SERVER, undefined, { targetingKey: 'user-1' }, { 'if-none-match': etag });
    assert.equal(again.status, 304);
  });

  it('gives clear errors in OFREP shape for bad input', async () => {
    const post = (body, headers = {}) => fetch(`${url}/ofrep/v1/evaluate/flags/new-checkout`, {
      method: 'POST', headers: { authorization: `Bearer ${SERVER}`, 'content-type': 'application/json', ...headers }, body,
    });
    const cases = [
      [post('{oops'), 400, 'PARSE_ERROR'],
      [post('{"context": "me"}'), 400, 'INVALID_CONTEXT'],
      [post('{"context": {}}', { 'content-type': 'text/plain' }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      [post('{"context": {}}', { 'content-type': 'text/plain; a=json' }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      [post('{"context": {}}', { 'content-type': 'application/jsonx' }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      [post('[{"targetingKey": "u1"}]'), 400, 'PARSE_ERROR'],
      [post(JSON.stringify({ context: { pad: 'x'.repeat(70_000) } })), 413, 'PAYLOAD_TOO_LARGE'],
    ];
    for (const [request, status, code] of cases) {
      const res = await request;
      const body = await res.json();
      assert.equal(res.status, status, JSON.stringify(body));
      assert.equal(body.errorCode, code);
      assert.ok(body.errorDetails.length > 0);
    }
  });
});
