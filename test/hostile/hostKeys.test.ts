/**
 * Hostile server: a host key that changed (a man in the middle, or a reinstalled server) or was
 * revoked. The connection must be refused before any password, passphrase or keyboard-interactive
 * answer is sent — checked on the server side: sshd's log must show no `userauth-request` at all
 * from the refused attempts — and never retried, even in the middle of a running session.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { eventually, makeEngine, type Engine } from '../fixtures/engine';
import { recordFigures } from '../fixtures/figures';
import { startEchoServer, type TestServer } from '../fixtures/servers';
import { KEY_PASSPHRASE, TEST_PASSWORD, freePort, startSshd, type Sshd } from '../fixtures/sshd';
import { delay } from '../faults/util';

const figures = recordFigures();
let echo: TestServer;
let sshd: Sshd;

before(async () => {
  echo = await startEchoServer();
  // Only passwords and keyboard-interactive work here: every login needs a secret from the user.
  sshd = await startSshd({ authorizeClientKey: false, authorizePassphrasedKey: false });
});
after(async () => {
  await Promise.all([sshd?.dispose(), echo?.close()]);
});

/** An engine that would answer every question with the real secrets (and would accept any new key). */
function secretEngine(knownHostsFile?: string): Engine {
  return makeEngine(sshd, {
    entry: { identityFile: sshd.clientKeyPassphrased, ...(knownHostsFile ? { userKnownHostsFile: knownHostsFile } : {}) },
    answers: {
      passphrases: [KEY_PASSPHRASE, KEY_PASSPHRASE, KEY_PASSPHRASE],
      keyboardInteractive: [[TEST_PASSWORD], [TEST_PASSWORD], [TEST_PASSWORD]],
      passwords: [TEST_PASSWORD, TEST_PASSWORD, TEST_PASSWORD],
      acceptHostKey: true,
    },
  });
}

/** sshd log lines since `offset` that show a client authentication request. */
function userauthSince(offset: number): string[] {
  return sshd.log().slice(offset).split('\n').filter((l) => /userauth-request|Accepted|Failed password|Postponed keyboard-interactive/.test(l));
}

async function refusedWithoutSecrets(engine: Engine, pattern: RegExp, what: string): Promise<void> {
  const offset = sshd.log().length;
  const snap = await engine.manager.addForward({ host: 'fixture', spec: `-L ${await freePort()}:127.0.0.1:${echo.port}` });
  assert.equal(snap.state, 'error', what);
  assert.match(snap.error!, pattern);
  assert.deepEqual(engine.prompter.calls, [], `${what}: nothing was asked (no passphrase, password, keyboard-interactive or host key question)`);
  await delay(1500); // long enough for a retry, if there were one
  assert.deepEqual(userauthSince(offset), [], `${what}: the server saw no authentication request at all`);
  const host = engine.manager.snapshot().hosts[0];
  assert.ok(host.state === 'error' || host.state === 'disconnected', `${what}: host ${host.state}`);
  assert.equal(host.nextAttemptAt, undefined, `${what}: never retried`);
  const connections = sshd.log().slice(offset).split('\n').filter((l) => /^Connection from /.test(l));
  assert.equal(connections.length, 1, `${what}: one connection, no retry (${connections.join('; ')})`);
  assert.ok(!engine.text().includes(TEST_PASSWORD) && !engine.text().includes(KEY_PASSPHRASE));
  figures.fault();
}

describe('host key checks come before any secret', () => {
  test('control: with the right host key, the same engine does log in with its secrets', async () => {
    const engine = secretEngine();
    try {
      const offset = sshd.log().length;
      const snap = await engine.manager.addForward({ host: 'fixture', spec: `-L ${await freePort()}:127.0.0.1:${echo.port}` });
      assert.equal(snap.state, 'listening', snap.error);
      assert.ok(engine.prompter.calls.length > 0, 'it asked for a secret');
      assert.ok(userauthSince(offset).some((l) => /method (keyboard-interactive|password|publickey)/.test(l)));
    } finally {
      await engine.dispose();
    }
  });

  test('a changed host key is refused before any secret is sent, with OpenSSH\'s warning, and never retried', async () => {
    const stale = path.join(sshd.dir, 'known_hosts_stale');
    fs.copyFileSync(sshd.knownHostsFile, stale);
    await sshd.regenerateHostKeys({ updateKnownHosts: true });
    const engine = secretEngine(stale);
    try {
      await refusedWithoutSecrets(engine, /WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED![\s\S]*Host key verification failed\./, 'changed key');
    } finally {
      await engine.dispose();
    }
  });

  test('a revoked host key (@revoked) is refused before any secret is sent', async () => {
    const revoked = path.join(sshd.dir, 'known_hosts_revoked');
    const lines = sshd.knownHostsLines();
    fs.writeFileSync(revoked, [...lines, ...lines.map((l) => `@revoked ${l}`)].join('\n') + '\n');
    const engine = secretEngine(revoked);
    try {
      await refusedWithoutSecrets(engine, /WARNING: REVOKED HOST KEY DETECTED![\s\S]*Host key verification failed\./, 'revoked key');
    } finally {
      await engine.dispose();
    }
  });

  test('an unknown host key under StrictHostKeyChecking yes is refused before any secret is sent', async () => {
    const empty = path.join(sshd.dir, 'known_hosts_empty');
    fs.writeFileSync(empty, '');
    const engine = secretEngine(empty);
    try {
      await refusedWithoutSecrets(engine, /No .* host key is known for \[127\.0\.0\.1\]:\d+ and you have requested strict checking/, 'unknown key, strict');
    } finally {
      await engine.dispose();
    }
  });

  test('the key changes while a session runs (server swapped between reconnects): refused before any secret, forwards in error', async () => {
    sshd.writeKnownHosts();
    const engine = secretEngine();
    try {
      const loginFrom = sshd.log().length;
      const ids: string[] = [];
      for (const spec of [`-L ${await freePort()}:127.0.0.1:${echo.port}`, `-D ${await freePort()}`]) {
        const snap = await engine.manager.addForward({ host: 'fixture', spec });
        assert.equal(snap.state, 'listening', snap.error);
        ids.push(snap.id);
      }
      // Forwards listen before the login completes: wait for it (and for sshd to have logged it),
      // so that the log from here on is only what the swapped server sees.
      await eventually('logged in to the real server', () => engine.manager.snapshot().hosts[0]?.state === 'connected' && /Accepted /.test(sshd.log().slice(loginFrom)));
      const askedBefore = engine.prompter.calls.length;
      const offset = sshd.log().length;
      await sshd.regenerateHostKeys(); // known_hosts keeps the old keys: the "new server" is an impostor
      await eventually('forwards refuse the new key', () => ids.every((id) => engine.manager.forwardSnapshot(id).state === 'error'), 30_000);
      for (const id of ids) assert.match(engine.manager.forwardSnapshot(id).error!, /REMOTE HOST IDENTIFICATION HAS CHANGED/);
      await delay(1500);
      assert.equal(engine.prompter.calls.length, askedBefore, 'no question after the key changed');
      assert.deepEqual(userauthSince(offset), [], 'the impostor saw no authentication request');
      assert.equal(engine.manager.snapshot().hosts[0].nextAttemptAt, undefined, 'never retried');
      figures.fault();
    } finally {
      await engine.dispose();
    }
  });
});
