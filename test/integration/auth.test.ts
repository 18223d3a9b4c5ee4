/**
 * Authentication and host keys against real sshds: every method in OpenSSH's order, prompts only
 * when needed, secrets never logged, and a changed or revoked host key refused before any
 * credential is sent.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeEngine, eventually } from '../fixtures/engine';
import { echoThrough, isListening, startEchoServer, type TestServer } from '../fixtures/servers';
import { KEY_PASSPHRASE, TEST_PASSWORD, freePort, sshConfigEntryFor, startSshd, type Sshd } from '../fixtures/sshd';

let keySshd: Sshd; // keys, keyboard-interactive (PAM) and password
let pwSshd: Sshd; // password only (no keyboard-interactive)
let echo: TestServer;

before(async () => {
  [keySshd, pwSshd, echo] = await Promise.all([
    startSshd(),
    startSshd({ extraConfig: ['KbdInteractiveAuthentication no'], authorizeClientKey: false, authorizePassphrasedKey: false }),
    startEchoServer(),
  ]);
});

after(async () => {
  await Promise.all([keySshd?.dispose(), pwSshd?.dispose(), echo?.close()]);
});

async function forwardWorks(engine: ReturnType<typeof makeEngine>): Promise<string | undefined> {
  const p = await freePort();
  const snap = await engine.manager.addForward({ host: 'fixture', spec: `-L ${p}:127.0.0.1:${echo.port}` });
  if (snap.state !== 'listening') return snap.error ?? snap.state;
  assert.equal((await echoThrough(p, Buffer.from('auth ok'))).toString(), 'auth ok');
  return undefined;
}

describe('authentication', () => {
  test('an encrypted key asks for its passphrase, retries a wrong one, and never logs it', async () => {
    const engine = makeEngine(keySshd, {
      entry: { identityFile: keySshd.clientKeyPassphrased },
      answers: { passphrases: ['not-the-passphrase', KEY_PASSPHRASE] },
    });
    try {
      assert.equal(await forwardWorks(engine), undefined);
      assert.deepEqual(engine.prompter.kinds(), ['passphrase', 'passphrase']);
      assert.match(engine.text(), /Bad passphrase for key/);
      assert.ok(!engine.text().includes(KEY_PASSPHRASE));
      assert.ok(!engine.text().includes('not-the-passphrase'));
    } finally {
      await engine.dispose();
    }
  });

  test('keyboard-interactive (PAM) prompts with echo off and succeeds', async () => {
    const engine = makeEngine(keySshd, {
      entry: { identityFile: path.join(keySshd.dir, 'no-such-key') },
      answers: { keyboardInteractive: [[TEST_PASSWORD]] },
    });
    try {
      assert.equal(await forwardWorks(engine), undefined);
      const call = engine.prompter.calls.find((c) => c.kind === 'keyboardInteractive');
      assert.ok(call && call.kind === 'keyboardInteractive');
      assert.equal(call.req.prompts[0].echo, false);
      assert.match(call.req.prompts[0].prompt, /password/i);
      assert.match(engine.text(), /Authentication succeeded \(keyboard-interactive\)/);
      assert.ok(!engine.text().includes(TEST_PASSWORD));
    } finally {
      await engine.dispose();
    }
  });

  test('password auth after a wrong first try', async () => {
    const engine = makeEngine(pwSshd, {
      entry: { identityFile: path.join(pwSshd.dir, 'no-such-key') },
      answers: { passwords: ['wrong-password-1', TEST_PASSWORD] },
    });
    try {
      assert.equal(await forwardWorks(engine), undefined);
      assert.deepEqual(engine.prompter.calls.map((c) => c.kind === 'password' && c.req.attempt), [1, 2]);
      assert.match(engine.text(), /Authentication succeeded \(password\)/);
      assert.ok(!engine.text().includes(TEST_PASSWORD) && !engine.text().includes('wrong-password-1'));
    } finally {
      await engine.dispose();
    }
  });

  test('a wrong password three times: an error that lists what the server accepts and what was tried', async () => {
    const engine = makeEngine(pwSshd, {
      entry: { identityFile: path.join(pwSshd.dir, 'no-such-key') },
      answers: { passwords: ['bad-1', 'bad-2', 'bad-3'] },
    });
    try {
      const err = await forwardWorks(engine);
      assert.match(err!, /sshtunnels-test@127\.0\.0\.1: Permission denied \(publickey,password\)\. Tried: password\./);
      assert.equal(engine.prompter.calls.length, 3);
      assert.ok(!err!.includes('bad-1'));
    } finally {
      await engine.dispose();
    }
  });

  test('a cancelled password prompt stops asking and says so', async () => {
    const engine = makeEngine(pwSshd, { entry: { identityFile: path.join(pwSshd.dir, 'no-such-key') }, answers: { passwords: [] } });
    try {
      assert.match((await forwardWorks(engine))!, /was cancelled/);
      assert.equal(engine.prompter.calls.length, 1);
    } finally {
      await engine.dispose();
    }
  });

  test('a password question still open when its tunnel is stopped is withdrawn, and the attempt ends', async () => {
    const engine = makeEngine(pwSshd, { entry: { identityFile: path.join(pwSshd.dir, 'no-such-key') }, answers: { hold: true } });
    try {
      const p = await freePort();
      void engine.manager.addForward({ id: 'held', host: 'fixture', spec: `-L ${p}:127.0.0.1:${echo.port}` });
      const asked = await eventually('the password question', () => engine.prompter.calls[0]);
      assert.equal(asked.kind, 'password');
      assert.equal(asked.withdrawn?.aborted, false, 'withdrawn before anything happened');
      const count = (re: RegExp): number => (pwSshd.log().match(re) ?? []).length;
      const sessions = (): number => count(/Connection from 127\.0\.0\.1/g);
      const gone = (): number => count(/Disconnected from authenticating user \S+ 127\.0\.0\.1 port \d+ \[preauth\]/g);
      const opened = sessions();
      const goneBefore = gone();
      await engine.manager.stopForward('held');
      // The question closes, the host shows no error, and sshd sees the connection end.
      await eventually('the question withdrawn', () => asked.withdrawn?.aborted);
      assert.equal(engine.manager.forwardSnapshot('held').state, 'stopped');
      await eventually('the host disconnected', () => engine.manager.snapshot().hosts[0]?.state === 'disconnected');
      assert.equal(engine.manager.snapshot().hosts[0]?.error, undefined);
      assert.equal(await isListening(p), false);
      await eventually('sshd saw the client go', () => gone() === goneBefore + 1);
      assert.equal(engine.prompter.calls.length, 1, 'asked again after the stop');
      // Started again: a fresh attempt asks afresh (not the ended one's leftovers).
      const restarted = engine.manager.startForward('held');
      const again = await eventually('the second question', () => engine.prompter.calls[1]);
      assert.equal(again.kind, 'password');
      assert.equal(again.withdrawn?.aborted, false);
      assert.equal(sessions(), opened + 1, 'a new connection for the new attempt');
      await engine.manager.stopForward('held');
      await eventually('the second question withdrawn', () => again.withdrawn?.aborted);
      // The start that was waiting for the login ends with the stop, stopped.
      assert.equal((await restarted).state, 'stopped');
      // Neither stop showed up as a failure: no error, no reconnect, nothing in the log.
      assert.doesNotMatch(engine.text(), /no longer wanted|reconnecting to/);
    } finally {
      await engine.dispose();
    }
  });

  test('ssh-agent keys are used first (SSH_AUTH_SOCK / IdentityAgent)', async () => {
    const sock = path.join(keySshd.dir, 'agent.sock');
    const agent: ChildProcess = spawn('/usr/bin/ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    try {
      await eventually('agent socket', () => fs.existsSync(sock));
      await new Promise<void>((resolve, reject) => {
        const add = spawn('/usr/bin/ssh-add', [keySshd.clientKey], { env: { SSH_AUTH_SOCK: sock }, stdio: 'ignore' });
        add.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ssh-add exited ${code}`))));
      });
      const engine = makeEngine(keySshd, { entry: { identityFile: path.join(keySshd.dir, 'no-such-key'), identitiesOnly: false, extra: [`IdentityAgent ${sock}`] } });
      try {
        assert.equal(await forwardWorks(engine), undefined);
        assert.equal(engine.prompter.calls.length, 0);
        assert.match(engine.text(), /Authentication succeeded \(publickey\)/);
      } finally {
        await engine.dispose();
      }
    } finally {
      agent.kill('SIGTERM');
    }
  });
});

describe('host keys', () => {
  test('unknown key with StrictHostKeyChecking ask: the user sees the SHA256 fingerprint; accepted keys are recorded', async () => {
    const engine = makeEngine(keySshd, { entry: { strictHostKeyChecking: 'ask' }, answers: { acceptHostKey: true } });
    const knownHosts = path.join(engine.dir, 'known_hosts_new');
    fs.writeFileSync(path.join(engine.dir, '.ssh', 'config'), fs.readFileSync(engine.configFile, 'utf8').replace(keySshd.knownHostsFile, knownHosts));
    engine.manager.reloadConfig();
    try {
      assert.equal(await forwardWorks(engine), undefined);
      const asked = engine.prompter.calls.find((c) => c.kind === 'hostKey');
      assert.ok(asked && asked.kind === 'hostKey');
      assert.ok(keySshd.hostKeyFingerprints.includes(asked.req.fingerprint), `${asked.req.fingerprint} is one of the server's`);
      assert.match(fs.readFileSync(knownHosts, 'utf8'), new RegExp(`^\\[127\\.0\\.0\\.1\\]:${keySshd.port} `, 'm'));
      assert.match(engine.text(), /Permanently added '\[127\.0\.0\.1\]:\d+' \(/);
    } finally {
      await engine.dispose();
    }
  });

  test('a host key question still open when the host is disconnected is withdrawn; nothing is recorded', async () => {
    const engine = makeEngine(keySshd, { entry: { strictHostKeyChecking: 'ask' }, answers: { hold: true } });
    const knownHosts = path.join(engine.dir, 'known_hosts_held');
    fs.writeFileSync(knownHosts, '');
    fs.writeFileSync(path.join(engine.dir, '.ssh', 'config'), fs.readFileSync(engine.configFile, 'utf8').replace(keySshd.knownHostsFile, knownHosts));
    engine.manager.reloadConfig();
    try {
      const connected = engine.manager.connectHost('fixture');
      const asked = await eventually('the host key question', () => engine.prompter.calls[0]);
      assert.equal(asked.kind, 'hostKey');
      await engine.manager.disconnectHost('fixture');
      await eventually('the question withdrawn', () => asked.withdrawn?.aborted);
      // The attempt ends (it had no timeout left while the user was asked) and says nothing.
      assert.equal((await connected).state, 'disconnected');
      assert.equal(engine.manager.snapshot().hosts[0]?.error, undefined);
      assert.equal(fs.readFileSync(knownHosts, 'utf8'), '', 'a withdrawn question recorded the key');
      assert.equal(engine.lines.filter((l) => l.level === 'error').length, 0, engine.text());
    } finally {
      await engine.dispose();
    }
  });

  test('unknown key with StrictHostKeyChecking yes is refused with the fingerprint and the fix', async () => {
    const engine = makeEngine(keySshd, { entry: { userKnownHostsFile: '/dev/null' } });
    try {
      const err = await forwardWorks(engine);
      assert.match(err!, /host key is known for \[127\.0\.0\.1\]:\d+ and you have requested strict checking\. Host key verification failed\. The server's key is SHA256:/);
      assert.equal(engine.prompter.calls.length, 0);
    } finally {
      await engine.dispose();
    }
  });

  test('a changed key is refused with OpenSSH\'s warning before any password is sent', async () => {
    const sshd = await startSshd({ extraConfig: ['KbdInteractiveAuthentication no'], authorizeClientKey: false, authorizePassphrasedKey: false });
    try {
      const oldFingerprints = sshd.hostKeyFingerprints;
      await sshd.regenerateHostKeys();
      const engine = makeEngine(sshd, { entry: { identityFile: path.join(sshd.dir, 'no-such-key') }, answers: { passwords: [TEST_PASSWORD] } });
      try {
        const err = await forwardWorks(engine);
        assert.match(err!, /WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!/);
        assert.match(err!, /IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!/);
        assert.ok(sshd.hostKeyFingerprints.some((f) => err!.includes(f)), 'names the new fingerprint');
        assert.ok(oldFingerprints.some((f) => err!.includes(f)), 'names the recorded fingerprint');
        assert.equal(engine.prompter.calls.length, 0, 'no prompt before the key is trusted');
        assert.doesNotMatch(sshd.log(), /userauth|Failed password|Accepted/i);
        assert.equal(engine.manager.snapshot().hosts[0].state, 'error');
      } finally {
        await engine.dispose();
      }
    } finally {
      await sshd.dispose();
    }
  });

  test('a @revoked key is refused', async () => {
    const engine = makeEngine(keySshd);
    const revoked = path.join(engine.dir, 'known_hosts_revoked');
    fs.writeFileSync(revoked, keySshd.knownHostsLines().map((l) => `@revoked ${l}`).join('\n') + '\n');
    fs.writeFileSync(engine.configFile, fs.readFileSync(engine.configFile, 'utf8').replace(keySshd.knownHostsFile, revoked));
    engine.manager.reloadConfig();
    try {
      assert.match((await forwardWorks(engine))!, /REVOKED/i);
    } finally {
      await engine.dispose();
    }
  });
});

describe('ProxyJump', () => {
  test('reaches a second sshd through the first, checking both host keys', async () => {
    const target = await startSshd();
    try {
      const knownHosts = path.join(target.dir, 'both_known_hosts');
      fs.writeFileSync(knownHosts, [...keySshd.knownHostsLines(), ...target.knownHostsLines()].join('\n') + '\n');
      const engine = makeEngine(target, {
        entry: { proxyJump: 'jump', userKnownHostsFile: knownHosts },
        extraEntries: [sshConfigEntryFor(keySshd, 'jump', { userKnownHostsFile: knownHosts, extra: ['IdentityAgent none'] })],
      });
      try {
        assert.equal(await forwardWorks(engine), undefined);
        assert.match(engine.text(), /through ProxyJump/);
        assert.equal((engine.text().match(/is known and matches the/g) ?? []).length, 2);
        await eventually('target sshd saw a login from the jump host', () => /Accepted publickey/.test(target.log()));
      } finally {
        await engine.dispose();
      }
    } finally {
      await target.dispose();
    }
  });
});

describe('host state', () => {
  test('a host whose connection failed for good shows the error, not "disconnected"', async () => {
    const engine = makeEngine(keySshd, { entry: { userKnownHostsFile: '/dev/null' } });
    try {
      await forwardWorks(engine);
      await new Promise((r) => setTimeout(r, 300)); // let the forward's teardown release the session
      const host = engine.manager.snapshot().hosts[0];
      assert.equal(host.state, 'error');
      assert.match(host.error!, /Host key verification failed/);
    } finally {
      await engine.dispose();
    }
  });
});

describe('log', () => {
  test('a refused host key is logged once, though the session and two forwards all fail on it', async () => {
    const engine = makeEngine(keySshd, { entry: { userKnownHostsFile: '/dev/null' } });
    try {
      await forwardWorks(engine);
      await forwardWorks(engine);
      await new Promise((r) => setTimeout(r, 300));
      const lines = engine.lines.filter((l) => l.level === 'error' && /requested strict checking/.test(l.text));
      assert.equal(lines.length, 2, 'one line per connection attempt (two forwards started one after the other)');
    } finally {
      await engine.dispose();
    }
  });
});
