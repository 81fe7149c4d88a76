// 100 equivalent boolean flags for each library: on for plans `beta` and `pro`,
// otherwise a 25% rollout by targeting key. Imports nothing, so browsers can load it.

export const COUNT = 100;
export const FLAG = 'flag-50';
/** A context that misses the rule, so the rollout decides (the longest path). */
export const CONTEXT = { targetingKey: 'user-42', plan: 'free', email: 'ada@example.com', appVersion: '4.2.0' };
const key = (i) => `flag-${i}`;

export function edgeflagSnapshot(version = 1) {
  const flags = [];
  for (let i = 0; i < COUNT; i += 1) {
    flags.push({
      key: key(i), version: 1, type: 'boolean', enabled: true, clientVisible: true,
      variations: [{ key: 'on', value: true }, { key: 'off', value: false }], offVariation: 'off',
      rules: [{ id: 'plans', conditions: [{ attribute: 'plan', op: 'in', values: ['beta', 'pro'] }], serve: { variation: 'on' } }],
      defaultRule: { rollout: { variations: [{ variation: 'on', weight: 25000 }, { variation: 'off', weight: 75000 }] } },
    });
  }
  return { schemaVersion: 1, environment: 'bench', version, generatedAt: '2026-11-25T12:00:00Z', flags };
}

export function growthbookFeatures() {
  const features = {};
  for (let i = 0; i < COUNT; i += 1) {
    features[key(i)] = {
      defaultValue: false,
      rules: [
        { condition: { plan: { $in: ['beta', 'pro'] } }, force: true },
        { force: true, coverage: 0.25, hashAttribute: 'id' },
      ],
    };
  }
  return features;
}

export function flagdConfiguration() {
  const flags = {};
  for (let i = 0; i < COUNT; i += 1) {
    flags[key(i)] = {
      state: 'ENABLED',
      variants: { on: true, off: false },
      defaultVariant: 'off',
      targeting: { if: [{ in: [{ var: 'plan' }, ['beta', 'pro']] }, 'on', { fractional: [['on', 25], ['off', 75]] }] },
    };
  }
  return JSON.stringify({ flags });
}
