// node bench/node.mjs — sizes, initialisation and evaluation cost in node, with peers.
import { statSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { GrowthBook } from '@growthbook/growthbook';
import { FlagdCore } from '@openfeature/flagd-core';
import { createClient } from '../dist/node.js';
import { publisher } from '../test/helpers.mjs';
import { measure } from './measure.mjs';

const size = (path) => {
  const bytes = readFileSync(new URL(path, import.meta.url));
  return { raw: statSync(new URL(path, import.meta.url)).size, gzip: gzipSync(bytes, { level: 9 }).length };
};
const signer = publisher('bench');
const sizes = { wasm: size('../dist/wasm/edgeflag_js_bg.wasm'), glue: size('../dist/wasm/edgeflag_js.js') };
const results = await measure({ createClient, sign: (s) => signer.sign(s), jwk: signer.jwk, GrowthBook, FlagdCore });
console.log(JSON.stringify({ runtime: `node ${process.version}`, sizes, ...results }, null, 2));
