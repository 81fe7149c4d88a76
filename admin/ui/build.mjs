// Builds the dashboard into `dist/`, which `admin/build.rs` embeds in the `edgeflag`
// binary: one ES module entry (plus lazily loaded chunks), one stylesheet, the preview
// engine's wasm, and `index.html`. Every file but `index.html` has a content hash in its
// name, so the server can let browsers cache it for a year. Each file gets a `.gz`
// sibling that the server sends to browsers that accept gzip.
//
// It fails when the first load (the entry, the chunks it imports statically, and the
// stylesheet; not the wasm, not lazy chunks) exceeds the budget of 200 KB gzip, and
// writes the figures to `dist/.sizes.json` for `BENCHMARKS.md`.
//
// Input: `build/wasm/` holds wasm-bindgen's output for the `preview` build of the JS SDK
// adapter (`cargo xtask build-ui` puts it there before calling this script).
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'dist');
const BUDGET = 200 * 1024;

if (!existsSync(join(here, 'build', 'wasm', 'edgeflag_js.js'))) {
  console.error('build/wasm/ is missing: run `cargo xtask build-ui`, which builds the preview engine first');
  process.exit(1);
}

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });

const result = await build({
  entryPoints: { app: join(here, 'src', 'main.tsx') },
  bundle: true,
  splitting: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  outdir: join(dist, 'assets'),
  entryNames: '[name]-[hash]',
  chunkNames: 'chunk-[hash]',
  assetNames: '[name]-[hash]',
  // Files imported by the code (the wasm) are fetched from where the server serves them.
  publicPath: '/assets/',
  loader: { '.wasm': 'file', '.svg': 'file' },
  metafile: true,
  logLevel: 'warning',
});

const outputs = result.metafile.outputs;
const url = (file) => `/${relative(dist, join(here, file)).split('\\').join('/')}`;
const entry = Object.keys(outputs).find((f) => outputs[f].entryPoint && f.endsWith('.js'));
const css = outputs[entry].cssBundle;

// The entry and every chunk it imports statically make the first load.
const firstLoad = new Set();
const visit = (file) => {
  if (firstLoad.has(file)) return;
  firstLoad.add(file);
  for (const imp of outputs[file].imports) if (imp.kind === 'import-statement') visit(imp.path);
};
visit(entry);
if (css) firstLoad.add(css);

const icon = readFileSync(join(here, 'src', 'icon.svg'));
const iconName = `icon-${createHash('sha256').update(icon).digest('hex').slice(0, 8)}.svg`;
writeFileSync(join(dist, 'assets', iconName), icon);

const preload = [...firstLoad]
  .filter((f) => f !== entry && f.endsWith('.js'))
  .map((f) => `    <link rel="modulepreload" href="${url(f)}">\n`)
  .join('');
writeFileSync(join(dist, 'index.html'), `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Edgeflag</title>
    <link rel="icon" href="/assets/${iconName}" type="image/svg+xml">
${css ? `    <link rel="stylesheet" href="${url(css)}">\n` : ''}${preload}    <script type="module" src="${url(entry)}"></script>
  </head>
  <body>
    <div id="app"><p class="boot">Loading the Edgeflag dashboard…</p></div>
    <noscript>The Edgeflag dashboard needs JavaScript.</noscript>
  </body>
</html>
`);

// Precompressed siblings, and the sizes.
const sizes = { files: {}, firstLoad: { raw: 0, gzip: 0 }, budgetGzip: BUDGET };
const walk = (dir) => readdirSync(dir).flatMap((name) => {
  const path = join(dir, name);
  return statSync(path).isDirectory() ? walk(path) : [path];
});
for (const path of walk(dist)) {
  const body = readFileSync(path);
  const gz = gzipSync(body, { level: 9 });
  writeFileSync(`${path}.gz`, gz);
  const name = relative(dist, path);
  sizes.files[name] = { raw: body.length, gzip: gz.length };
  if (firstLoad.has(relative(here, path))) {
    sizes.firstLoad.raw += body.length;
    sizes.firstLoad.gzip += gz.length;
  }
}
writeFileSync(join(dist, '.sizes.json'), `${JSON.stringify(sizes, null, 2)}\n`);
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
console.log(`dashboard: first load ${kb(sizes.firstLoad.raw)} raw, ${kb(sizes.firstLoad.gzip)} gzip (budget ${kb(BUDGET)} gzip); ${Object.keys(sizes.files).length} files in dist/`);
for (const [name, s] of Object.entries(sizes.files)) console.log(`  ${name.padEnd(40)} ${kb(s.raw).padStart(10)} ${kb(s.gzip).padStart(10)} gzip`);
if (sizes.firstLoad.gzip > BUDGET) {
  console.error(`the first load is ${kb(sizes.firstLoad.gzip)} gzip, over the budget of ${kb(BUDGET)}`);
  process.exit(1);
}
