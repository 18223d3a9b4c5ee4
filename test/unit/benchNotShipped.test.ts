/**
 * bench/lib/notShipped.ts: in the bench's processes ssh2's native helpers cannot be loaded, as in
 * the packaged extension — unless BENCH_NATIVE_DIR names the folder of the bundle asking, and then
 * only for that folder (the same-run measurement of what ssh2's native addon would give).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';

const guard = path.resolve(__dirname, '../../bench/lib/notShipped.js');

/** Two folders, each with a module that requires a (missing) addon; what each require reports. */
function requireFrom(nativeDir: string | undefined): { native: string; other: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'not-shipped-'));
  try {
    for (const d of ['native', 'other']) {
      fs.mkdirSync(path.join(root, d));
      fs.writeFileSync(path.join(root, d, 'asks.js'), `
        try { require('./crypto/build/Release/sshcrypto.node'); module.exports = 'loaded'; }
        catch (err) { module.exports = err.message; }`);
    }
    const script = `require(${JSON.stringify(guard)});
      console.log(JSON.stringify({ native: require(${JSON.stringify(path.join(root, 'native', 'asks.js'))}),
                                   other: require(${JSON.stringify(path.join(root, 'other', 'asks.js'))}) }));`;
    const env = { ...process.env };
    if (nativeDir === undefined) delete env.BENCH_NATIVE_DIR;
    else env.BENCH_NATIVE_DIR = nativeDir.replace('<root>', root);
    const r = spawnSync(process.execPath, ['-e', script], { env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as { native: string; other: string };
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

test('without BENCH_NATIVE_DIR no bundle can load a .node addon', () => {
  const r = requireFrom(undefined);
  assert.match(r.native, /blocked: not shipped in the VSIX/);
  assert.match(r.other, /blocked: not shipped in the VSIX/);
});

test('BENCH_NATIVE_DIR lets only the bundle under that folder look for the addon', () => {
  const r = requireFrom('<root>/native');
  // Looked for (and not found: there is no build here), not blocked.
  assert.match(r.native, /Cannot find module '\.\/crypto\/build\/Release\/sshcrypto\.node'/);
  assert.doesNotMatch(r.native, /blocked/);
  assert.match(r.other, /blocked: not shipped in the VSIX/);
});

test('a folder that only shares a prefix with BENCH_NATIVE_DIR stays blocked', () => {
  const r = requireFrom('<root>/nat');
  assert.match(r.native, /blocked: not shipped in the VSIX/);
});
