/**
 * src/core/lazySsh2.ts: the engine loads ssh2's client and key parser on first use, and nothing
 * else of ssh2 — its index also loads the SSH server, the key generator and the HTTP agents, which
 * cost the first connected host ~1 MB of RSS and the bundle 25 KB (bench/README.md). With the
 * ssh2 patch, SFTP waits for an SFTP channel and bcrypt-pbkdf for an encrypted OpenSSH key.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';

const lazySsh2 = path.join(__dirname, '..', '..', 'src', 'core', 'lazySsh2.js');

/** Runs in a fresh process, so that what this test file itself loaded does not count. */
function probe(plainKey: string, encryptedKey: string): string {
  const modules = `() => Object.keys(require.cache)
    .map((f) => f.split(path.sep).join('/'))
    .filter((f) => /node_modules\\/(ssh2\\/lib|bcrypt-pbkdf)\\//.test(f))
    .map((f) => f.replace(/.*node_modules\\/(ssh2\\/lib\\/)?/, ''))`;
  return `
    const path = require('path');
    const fs = require('fs');
    const modules = ${modules};
    const { ssh2 } = require(${JSON.stringify(lazySsh2)});
    const before = modules();
    const s = ssh2();
    const client = new s.Client();
    const plain = s.parseKey(fs.readFileSync(${JSON.stringify(plainKey)}));
    const loaded = modules();
    const data = fs.readFileSync(${JSON.stringify(encryptedKey)});
    const wrong = s.parseKey(data, 'open');
    const key = s.parseKey(data, 'sesame');
    const show = (k) => (k instanceof Error ? k.message : k.type + ' ' + k.comment);
    console.log(JSON.stringify({
      before, loaded, afterEncrypted: modules(),
      plain: show(plain), wrong: show(wrong), key: show(key), connect: typeof client.connect,
    }));`;
}

test('first use loads a working client and key parser, and not the rest of ssh2', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lazyssh2-'));
  try {
    const key = path.join(dir, 'id_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'sesame', '-C', 'lazy@test', '-f', key]);
    const plainKey = path.join(dir, 'id_plain');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'plain@test', '-f', plainKey]);
    const out = JSON.parse(execFileSync(process.execPath, ['-e', probe(plainKey, key)], { encoding: 'utf8' })) as {
      before: string[]; loaded: string[]; afterEncrypted: string[]; plain: string; wrong: string; key: string; connect: string;
    };
    assert.deepEqual(out.before, [], 'requiring lazySsh2 must not load ssh2');
    assert.equal(out.connect, 'function');
    assert.equal(out.plain, 'ssh-ed25519 plain@test');
    assert.equal(out.key, 'ssh-ed25519 lazy@test');
    assert.match(out.wrong, /bad passphrase|integrity check failed/i);
    assert.ok(out.loaded.includes('client.js'), `ssh2's client loaded: ${out.loaded.join(', ')}`);
    for (const unused of ['index.js', 'server.js', 'keygen.js', 'http-agents.js', 'protocol/SFTP.js']) {
      assert.ok(!out.loaded.includes(unused), `ssh2's ${unused} loaded: ${out.loaded.join(', ')}`);
    }
    // A client and an unencrypted key do not need bcrypt-pbkdf; the encrypted key loads it.
    assert.ok(!out.loaded.some((f) => f.startsWith('bcrypt-pbkdf/')), `bcrypt-pbkdf loaded early: ${out.loaded.join(', ')}`);
    assert.ok(out.afterEncrypted.some((f) => f.startsWith('bcrypt-pbkdf/')), `bcrypt-pbkdf not loaded for the encrypted key: ${out.afterEncrypted.join(', ')}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
