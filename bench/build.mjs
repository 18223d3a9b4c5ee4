// Builds the benchmark: the engine as shipped (same esbuild options and externals as
// esbuild.config.mjs --production, so ssh2 has no native addon and runs its pure-JS crypto), and
// the bench driver/host scripts. BENCH_MINIFY=0 keeps names readable for `node --cpu-prof`.
import * as esbuild from 'esbuild';
import * as fs from 'node:fs';

const minify = process.env.BENCH_MINIFY !== '0';
// Where the bundles go: out/bench, or (the bench's smoke test) another folder two levels below the repository.
const outdir = process.env.BENCH_BUILD_DIR ?? 'out/bench';

/** Mirrors esbuild.config.mjs (production) except entry/outfile. */
const shipped = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['vscode', 'cpu-features', '*.node'],
  minify,
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
};

// engine: the engine on the calling thread (TunnelManager); client + engineWorker: how the
// extension ships it now (EngineClient on the extension host's thread, the engine in a worker).
// ssh2Floor: a bare ssh2 forwarder built the same way, so its ssh2 is the shipped one.
const engineEntries = { engine: 'bench/engine-entry.ts', ssh2Floor: 'bench/ssh2Floor.ts' };
if (fs.existsSync('src/core/worker/workerMain.ts')) {
  engineEntries.engineWorker = 'src/core/worker/workerMain.ts';
  engineEntries.client = 'bench/client-entry.ts';
}

const engine = await esbuild.build({ ...shipped, entryPoints: engineEntries, outdir });

// Bench scripts: plain node, not part of what ships.
await esbuild.build({
  entryPoints: { run: 'bench/run.ts', engineHost: 'bench/engineHost.ts', compare: 'bench/compare.ts', extensionLoad: 'bench/extensionLoad.ts', nodeEcho: 'bench/nodeEcho.ts', readBuffer: 'bench/readBuffer.ts', cipherThreads: 'bench/cipherThreads.ts', sshdSideBySide: 'bench/sshdSideBySide.ts' },
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  outdir,
  // playwright-core: the activation measurement drives a real VS Code through the e2e harness.
  external: ['*.node', 'playwright-core'],
  logLevel: 'warning',
});

for (const [file, out] of Object.entries(engine.metafile.outputs)) {
  if (file.includes('ssh2Floor')) continue;
  console.log(`${file} ${(out.bytes / 1024).toFixed(0)} KB${minify ? ' (minified like --production)' : ''}`);
}
