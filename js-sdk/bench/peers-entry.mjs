// The peers, bundled by esbuild for the Chromium benchmark page.
export { GrowthBook } from '@growthbook/growthbook';
export { FlagdCore } from '@openfeature/flagd-core';
