// A small client snapshot for the client and provider suites: `banner` is on for the
// `beta` plan and otherwise serves `fallback`; one flag of each other type.
export function snapshot(version, { fallback = 'off' } = {}) {
  const bool = [{ key: 'on', value: true }, { key: 'off', value: false }];
  return {
    schemaVersion: 1,
    environment: 'production',
    version,
    generatedAt: '2026-11-25T12:00:00Z',
    flags: [
      {
        key: 'banner', version: 3, type: 'boolean', enabled: true, clientVisible: true,
        variations: bool, offVariation: 'off',
        rules: [{ id: 'beta', conditions: [{ attribute: 'plan', op: 'in', values: ['beta'] }], serve: { variation: 'on' } }],
        defaultRule: { variation: fallback },
      },
      {
        key: 'title', version: 1, type: 'string', enabled: true, clientVisible: true,
        variations: [{ key: 'plain', value: 'Welcome' }], offVariation: 'plain', defaultRule: { variation: 'plain' },
      },
      {
        key: 'limit', version: 1, type: 'number', enabled: true, clientVisible: true,
        variations: [{ key: 'ten', value: 10 }], offVariation: 'ten', defaultRule: { variation: 'ten' },
      },
      {
        key: 'layout', version: 1, type: 'object', enabled: true, clientVisible: true,
        variations: [{ key: 'cards', value: { columns: 3 } }], offVariation: 'cards', defaultRule: { variation: 'cards' },
      },
    ],
  };
}

export const NOW = 1_795_608_000_000;
