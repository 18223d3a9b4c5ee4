// Bundles the extension (src/extension.ts -> dist/extension.js) for VS Code's extension host.
// `vscode` is provided by the host. ssh2's optional native crypto addon (sshcrypto.node) and
// cpu-features are left out on purpose: a bundled extension runs ssh2's pure-JS crypto path, and
// ssh2 falls back to it when the require of the addon fails.
import * as esbuild from 'esbuild';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

/**
 * `import * as vscode from 'vscode'` makes esbuild wrap the require in __toESM, which copies VS
 * Code's ~250 API names into a new object in every module that imports it — ~0.5 ms each at
 * activation (bench/README.md, change 13). `import vscode = require('vscode')` is a plain require.
 * The same holds for `import * as fs from 'node:fs'`; src/ writes `import fs = require('node:fs')`
 * (not enforced here: esbuild's resolve hook cannot tell a namespace import from a named one).
 */
const plainVscodeRequire = {
  name: 'plain-vscode-require',
  setup(build) {
    build.onResolve({ filter: /^vscode$/ }, (args) => {
      if (args.kind === 'require-call') return { path: 'vscode', external: true };
      return { errors: [{ text: `${args.importer}: write \`import vscode = require('vscode');\` instead of an ES import of 'vscode' (an ES import copies the whole VS Code API per module at activation).` }] };
    });
  },
};

/** @type {import('esbuild').BuildOptions} */
const options = {
  // The engine runs in a worker thread (src/core/worker): a second bundle next to the extension.
  entryPoints: { extension: 'src/extension.ts', engineWorker: 'src/core/worker/workerMain.ts' },
  bundle: true,
  outdir: 'dist',
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['vscode', 'cpu-features', '*.node'],
  minify: production,
  sourcemap: production ? false : 'linked',
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
  plugins: [plainVscodeRequire],
};

if (watch) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
} else {
  const result = await esbuild.build(options);
  for (const name of ['dist/extension.js', 'dist/engineWorker.js']) {
    const out = result.metafile.outputs[name];
    if (out) console.log(`${name} ${(out.bytes / 1024).toFixed(0)} KB${production ? ' (production)' : ''}`);
  }
}
