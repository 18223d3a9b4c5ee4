/**
 * The engine process keeps its compiled code between starts (EngineClient's `compileCacheDir`,
 * NODE_COMPILE_CACHE for the process it forks): Node 22.1 and later read and write it, so these run
 * on code-server's Node 24 (the Node of the extension host in the e2e tests); Node 20 ignores it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { e2eInstall } from '../e2e/harness';

const OUT = path.join(__dirname, '..', '..');
const WORKER = path.join(OUT, 'src', 'core', 'worker', 'workerMain.js');

/** Starts an engine through EngineClient on code-server's Node with `compileCacheDir`, then disposes it; the script's output. */
function startAndStop(t: { skip(message: string): void }, compileCacheDir: string, dir: string): { status: number | null; out: string } | undefined {
  const node24 = e2eInstall().node24;
  if (!fs.existsSync(node24)) {
    t.skip(`no ${node24} (bash test/setup.sh installs code-server's Node)`);
    return undefined;
  }
  const script = `
    const { EngineClient } = require(${JSON.stringify(path.join(OUT, 'src', 'core', 'worker', 'engineClient.js'))});
    const { Log } = require(${JSON.stringify(path.join(OUT, 'src', 'core', 'log.js'))});
    (async () => {
      const c = new EngineClient({ log: new Log(), configFile: ${JSON.stringify(path.join(dir, 'config'))}, homeDir: ${JSON.stringify(dir)},
        workerPath: ${JSON.stringify(WORKER)}, compileCacheDir: ${JSON.stringify(compileCacheDir)} });
      await c.start();
      await c.dispose();
      console.log('started and stopped');
    })().catch((e) => { console.log(String(e)); process.exit(3); });`;
  const env = { ...process.env };
  delete env.NODE_COMPILE_CACHE;
  const r = spawnSync(node24, ['-e', script], { encoding: 'utf8', env, timeout: 60_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

test('the engine process keeps its compiled code in the directory it is given', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'compile-cache-'));
  try {
    const cache = path.join(dir, 'storage', 'engine-compile-cache');
    const r = startAndStop(t, cache, dir);
    if (!r) return;
    assert.equal(r.status, 0, r.out);
    // Node writes one subdirectory per Node version, one file per module it compiled.
    const versions = fs.existsSync(cache) ? fs.readdirSync(cache) : [];
    assert.equal(versions.length, 1, `expected one Node version's cache in ${cache}, found: ${versions.join(', ') || 'nothing'}`);
    assert.ok(fs.readdirSync(path.join(cache, versions[0])).length > 0, 'the engine process wrote no compiled code');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a cache directory that cannot be created does not keep the engine from starting', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'compile-cache-'));
  try {
    const file = path.join(dir, 'a-file');
    fs.writeFileSync(file, '');
    const r = startAndStop(t, path.join(file, 'cache'), dir);
    if (!r) return;
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /started and stopped/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
