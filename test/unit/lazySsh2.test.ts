/**
 * src/core/lazySsh2.ts: the engine loads ssh2's client and key parser on first use, and nothing
 * else of ssh2 — its index also loads the SSH server, the key generator and the HTTP agents, which
 * cost the first connected host ~1 MB of RSS and the bundle 25 KB (bench/README.md).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';

const lazySsh2 = path.join(__dirname, '..', '..', 'src', 'core', 'lazySsh2.js');

test('first use loads a working client and key parser, and not the rest of ssh2', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lazyssh2-'));
  try {
    const key = path.join(dir, 'id_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'sesame', '-C', 'lazy@test', '-f', key]);
    // A fresh process: what this test file itself loaded must not count.
    const script = `
      const { ssh2 } = require(${JSON.stringify(lazySsh2)});
      const before = Object.keys(require.cache).filter((f) => f.includes('ssh2'));
      const s = ssh2();
      const fs = require('fs');
      const data = fs.readFileSync(${JSON.stringify(key)});
      const wrong = s.parseKey(data, 'open');
      const key = s.parseKey(data, 'sesame');
      const client = new s.Client();
      const loaded = Object.keys(require.cache).filter((f) => /node_modules[\\\\/]ssh2[\\\\/]lib[\\\\/]/.test(f)).map((f) => f.replace(/.*ssh2[\\\\/]lib[\\\\/]/, ''));
      console.log(JSON.stringify({
        before, loaded,
        wrong: wrong instanceof Error ? wrong.message : 'parsed',
        key: key instanceof Error ? key.message : key.type + ' ' + key.comment,
        connect: typeof client.connect,
      }));`;
    const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })) as {
      before: string[]; loaded: string[]; wrong: string; key: string; connect: string;
    };
    assert.deepEqual(out.before, [], 'requiring lazySsh2 must not load ssh2');
    assert.equal(out.key, 'ssh-ed25519 lazy@test');
    assert.match(out.wrong, /bad passphrase|integrity check failed/i);
    assert.equal(out.connect, 'function');
    assert.ok(out.loaded.includes('client.js'), `ssh2's client loaded: ${out.loaded.join(', ')}`);
    for (const unused of ['index.js', 'server.js', 'keygen.js', 'http-agents.js']) {
      assert.ok(!out.loaded.includes(unused), `ssh2's ${unused} loaded: ${out.loaded.join(', ')}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
