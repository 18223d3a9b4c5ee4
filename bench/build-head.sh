#!/bin/sh
# Builds the engine as committed at a git revision (default HEAD) into out/bench/engine-<name>.js,
# for BENCH_COMPARE=<name>=out/bench/engine-<name>.js A/B runs against the working tree.
set -e
rev=${1:-HEAD}
name=${2:-head}
root=$(git rev-parse --show-toplevel)
tmp=$(mktemp -d)
git -C "$root" archive "$rev" src | tar -x -C "$tmp"
sed "s#'../src/#'./src/#" "$root/bench/engine-entry.ts" > "$tmp/engine-entry.ts"
[ -f "$tmp/src/core/worker/engineClient.ts" ] || sed -i '/EngineClient/d' "$tmp/engine-entry.ts"
ln -s "$root/node_modules" "$tmp/node_modules"
node -e "
require('$root/node_modules/esbuild').build({
  entryPoints: { 'engine-$name': '$tmp/engine-entry.ts' }, bundle: true, platform: 'node', target: 'node20', format: 'cjs',
  external: ['vscode', 'cpu-features', '*.node'], minify: process.env.BENCH_MINIFY !== '0', legalComments: 'none', outdir: '$root/out/bench',
}).then(() => console.log('out/bench/engine-$name.js ($rev)'))"
rm -rf "$tmp"
