// Evaluation counts in the client: local evaluations are counted per flag, variant,
// reason and minute, sent to the edge with the client key (on an interval or when
// asked), kept when a send fails, and not counted at all with `usage: false`.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { createClient } from '../dist/node.js';
import { snapshot } from './fixtures.mjs';
import { publisher, startEdge } from './helpers.mjs';

const CLIENT_KEY = 'cli_usage_123';
const signer = publisher('k1');
const reports = [];
let failing = false;
let edge;

before(async () => {
  edge = await startEdge({
    clientKey: CLIENT_KEY,
    jwks: { keys: [signer.jwk] },
    fallback(req, res) {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        if (req.method === 'POST' && req.url === `/v1/usage/${CLIENT_KEY}` && !failing) {
          reports.push(JSON.parse(body));
          res.statusCode = 202;
        } else {
          res.statusCode = 503;
        }
        res.end('{}');
      });
    },
  });
  edge.serve(signer.sign(snapshot(10)));
});
after(() => edge.close());

const counted = () => {
  const out = {};
  for (const c of reports.flatMap((r) => r.counts)) {
    const id = `${c.flag}/${c.variant ?? '-'}/${c.reason}`;
    out[id] = (out[id] ?? 0) + c.count;
  }
  return out;
};

it('counts evaluations and sends them with the client key; a failed send is kept', async () => {
  const now = 1_800_000_030_000;
  const client = await createClient({ url: edge.url, clientKey: CLIENT_KEY, refreshIntervalMs: 0, now: () => now, context: { targetingKey: 'u1', plan: 'beta' } });
  assert.equal(client.getBooleanValue('banner', false), true);
  assert.equal(client.getBooleanValue('banner', false), true);
  client.getStringValue('title', 'x');
  client.getStringDetails('nope', 'fallback');
  failing = true;
  assert.equal(await client.flushUsage(), false);
  failing = false;
  assert.equal(reports.length, 0);
  client.getBooleanValue('banner', false);
  assert.equal(await client.flushUsage(), true);
  assert.deepEqual(counted(), {
    'banner/on/TARGETING_MATCH': 3,
    'title/plain/STATIC': 1,
    'nope/-/ERROR': 1,
  }, JSON.stringify(reports));
  assert.ok(reports[0].counts.every((c) => c.time === 1_800_000_000_000), 'the minute the evaluation happened');
  assert.equal(await client.flushUsage(), true, 'nothing left: nothing sent');
  assert.equal(reports.length, 1);
  client.close();
});

it('sends on an interval, and counts nothing when turned off', async () => {
  reports.length = 0;
  const client = await createClient({ url: edge.url, clientKey: CLIENT_KEY, refreshIntervalMs: 0, usageIntervalMs: 50 });
  client.evaluateAll({ targetingKey: 'u2' });
  const deadline = Date.now() + 5000;
  while (reports.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(Object.values(counted()).reduce((a, b) => a + b, 0), 4, 'evaluateAll counts each flag');
  client.close();

  reports.length = 0;
  const off = await createClient({ url: edge.url, clientKey: CLIENT_KEY, refreshIntervalMs: 0, usage: false });
  off.getBooleanValue('banner', false);
  assert.equal(await off.flushUsage(), true);
  assert.equal(reports.length, 0);
  off.close();
});
