/**
 * Faults that are not the engine's to fix, only to report: a local port another process holds,
 * a destination that refuses or does not resolve, a server that prohibits the destination, failed
 * authentication, a server that accepts TCP and never speaks. Each must give a clear state and a
 * message that names the cause; the other tunnels on the same server must carry on undisturbed.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { eventually, makeEngine, type Engine } from '../fixtures/engine';
import { recordFigures } from '../fixtures/figures';
import { startRelay, type Relay } from '../fixtures/relay';
import { echoThrough, isBound, socksConnect, startEchoServer, type TestServer } from '../fixtures/servers';
import { KEY_PASSPHRASE, freePort, sshConfigEntryFor, startSshd, type Sshd } from '../fixtures/sshd';
import { echoCheck, viaOf } from './util';

const figures = recordFigures();

let echo: TestServer;
let sshd: Sshd; // forwarding allowed to one destination only; publickey only
let relay: Relay; // accepts TCP, never speaks
let engine: Engine;
/** A healthy -L, -R and -D on `fixture` that must stay undisturbed by every fault here. */
let healthy: string[] = [];
let closedPort: number;

before(async () => {
  echo = await startEchoServer();
  closedPort = await freePort();
  const allowedListen = await freePort();
  sshd = await startSshd({
    extraConfig: [
      `PermitOpen 127.0.0.1:${echo.port}`,
      `PermitListen localhost:${allowedListen}`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
    ],
    authorizePassphrasedKey: false,
  });
  relay = await startRelay(sshd.port);
  relay.mute();
  engine = makeEngine(sshd, {
    answers: { passphrases: [KEY_PASSPHRASE, KEY_PASSPHRASE, KEY_PASSPHRASE] },
    extraEntries: [
      // The right server, a key it does not accept.
      sshConfigEntryFor(sshd, 'badauth', { identityFile: sshd.clientKeyPassphrased, extra: ['IdentityAgent none'] }),
      // A name that does not resolve.
      sshConfigEntryFor(sshd, 'nodns', { hostName: 'no-such-host.invalid', extra: ['IdentityAgent none', 'ConnectTimeout 5'] }),
      // TCP accepted, no SSH banner ever.
      sshConfigEntryFor(sshd, 'mute', { port: relay.port, extra: ['IdentityAgent none', 'ConnectTimeout 2'] }),
    ],
  });
  for (const spec of [`-L ${await freePort()}:127.0.0.1:${echo.port}`, `-R ${allowedListen}:127.0.0.1:${echo.port}`, `-D ${await freePort()}`]) {
    const snap = await engine.manager.addForward({ host: 'fixture', spec, label: 'healthy' });
    assert.equal(snap.state, 'listening', `${spec}: ${snap.error}`);
    healthy.push(snap.id);
  }
});

after(async () => {
  await engine?.dispose();
  await relay?.close();
  await Promise.all([sshd?.dispose(), echo?.close()]);
});

/** The healthy tunnels are all listening and each carries data. */
async function othersUndisturbed(what: string): Promise<void> {
  for (const id of healthy) {
    const f = engine.manager.forwardSnapshot(id);
    assert.equal(f.state, 'listening', `${what}: healthy ${f.sshFlag} is ${f.state} (${f.error ?? ''})`);
    assert.equal(f.lastConnectionError, undefined, `${what}: healthy ${f.sshFlag} saw no failure`);
    figures.transfer(await echoCheck(viaOf(f), echo, 20_000));
  }
}

async function remove(id: string): Promise<void> {
  await engine.manager.removeForward(id);
}

describe('faults reported with a clear state and message, other tunnels undisturbed', () => {
  test('local port taken by another process: the message names the holder and its pid', async () => {
    const port = await freePort();
    const holder: ChildProcess = spawn(process.execPath, ['-e', `require('net').createServer().listen(${port}, '127.0.0.1', () => console.log('ready'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout!.once('data', () => resolve());
        holder.once('exit', (code) => reject(new Error(`holder exited ${code}`)));
      });
      for (const spec of [`-L ${port}:127.0.0.1:${echo.port}`, `-D ${port}`]) {
        const snap = await engine.manager.addForward({ host: 'fixture', spec });
        assert.equal(snap.state, 'error', spec);
        assert.match(snap.error!, new RegExp(`Address already in use — 127\\.0\\.0\\.1 port ${port} is held by .*node.* \\(pid ${holder.pid}\\)\\. Stop that process, or pick a free port such as \\d+`), snap.error);
        await remove(snap.id);
        figures.fault();
      }
    } finally {
      holder.kill('SIGKILL');
      await new Promise((r) => (holder.exitCode !== null || holder.signalCode !== null ? r(undefined) : holder.once('exit', r)));
    }
    await othersUndisturbed('port taken');
  });

  test('-R on a port the server does not permit (PermitListen): error, with the causes named', async () => {
    const r = await engine.manager.addForward({ host: 'fixture', spec: `-R ${await freePort()}:127.0.0.1:${closedPort}` });
    // PermitListen allows only the healthy port: this one is refused by the server.
    assert.equal(r.state, 'error');
    assert.match(r.error!, /remote port forwarding failed for listen port \d+ — sshd on fixture refused to listen[\s\S]*PermitListen/);
    await remove(r.id);
    figures.fault();
    await othersUndisturbed('destination refused');
  });

  test('destination prohibited by the server (PermitOpen): administratively prohibited, with the setting to change', async () => {
    const l = await engine.manager.addForward({ host: 'fixture', spec: `-L ${await freePort()}:127.0.0.1:${closedPort}` });
    assert.equal(l.state, 'listening');
    await echoThrough(l.listenPort!, Buffer.from('x')).catch(() => undefined);
    const err = await eventually('refusal recorded', () => engine.manager.forwardSnapshot(l.id).lastConnectionError);
    assert.match(err, /open failed: administratively prohibited[\s\S]*PermitOpen/);
    assert.equal(engine.manager.forwardSnapshot(l.id).state, 'listening', 'one refused connection does not stop the forward');
    await remove(l.id);
    const d = await engine.manager.addForward({ host: 'fixture', spec: `-D ${await freePort()}` });
    await assert.rejects(socksConnect(d.listenPort!, '127.0.0.1', closedPort, 5), /reply 0x2/, 'SOCKS5 "connection not allowed by ruleset"');
    assert.match(engine.manager.forwardSnapshot(d.id).lastConnectionError ?? '', /administratively prohibited/);
    assert.equal(engine.manager.forwardSnapshot(d.id).state, 'listening');
    await remove(d.id);
    figures.fault(2);
    await othersUndisturbed('prohibited');
  });

  test('authentication failure: error state, what the server accepts and what was tried; not retried', async () => {
    const snap = await engine.manager.addForward({ host: 'badauth', spec: `-L ${await freePort()}:127.0.0.1:${echo.port}` });
    assert.equal(snap.state, 'error');
    assert.match(snap.error!, /sshtunnels-test@127\.0\.0\.1: Permission denied \(publickey\)\. Tried: publickey \(.*client_ed25519_pp\)\. Check the user name/);
    assert.equal(isBound(snap.spec.bindPort), false, 'no listener left behind');
    const host = engine.manager.snapshot().hosts.find((h) => h.alias === 'badauth')!;
    assert.equal(host.state, 'error');
    assert.equal(host.nextAttemptAt, undefined, 'an authentication failure is not retried');
    await remove(snap.id);
    figures.fault();
    await othersUndisturbed('auth failure');
  });

  test('server name does not resolve: the message says so; the forward waits for the network', async () => {
    const snap = await engine.manager.addForward({ host: 'nodns', spec: `-L ${await freePort()}:127.0.0.1:${echo.port}` });
    assert.equal(snap.state, 'reconnecting');
    assert.match(snap.error!, /ssh: Could not resolve hostname no-such-host\.invalid: .*check HostName in ~\/\.ssh\/config or the spelling|Temporary failure in name resolution/);
    await remove(snap.id);
    figures.fault();
    await othersUndisturbed('DNS failure');
  });

  test('destination refused or not resolvable (-L, -D, -R): the forward carries on and the failure names the cause', async () => {
    // Through a server that allows any destination: a second, permissive engine on a fresh sshd.
    const open = await startSshd();
    const e2 = makeEngine(open);
    try {
      const l = await e2.manager.addForward({ host: 'fixture', spec: `-L ${await freePort()}:no-such-host.invalid:80` });
      assert.equal(l.state, 'listening');
      await echoThrough(l.listenPort!, Buffer.from('x')).catch(() => undefined);
      const err = await eventually('failure recorded', () => e2.manager.forwardSnapshot(l.id).lastConnectionError);
      assert.match(err, /open failed: connect failed: .* — fixture cannot resolve "no-such-host\.invalid"/);
      const d = await e2.manager.addForward({ host: 'fixture', spec: `-D ${await freePort()}` });
      await assert.rejects(socksConnect(d.listenPort!, 'no-such-host.invalid', 80, 5), /reply 0x4/, 'SOCKS5 "host unreachable"');
      const r = await e2.manager.addForward({ host: 'fixture', spec: `-R ${await freePort()}:no-such-host.invalid:80` });
      await echoThrough(r.listenPort!, Buffer.from('x')).catch(() => undefined);
      const rerr = await eventually('-R failure recorded', () => e2.manager.forwardSnapshot(r.id).lastConnectionError);
      assert.match(rerr, /connect to no-such-host\.invalid:80 failed: .*(ENOTFOUND|EAI_AGAIN).* \(on this machine\)/);
      // Refused (nothing listening) through the permissive server too.
      const l2 = await e2.manager.addForward({ host: 'fixture', spec: `-L ${await freePort()}:127.0.0.1:${closedPort}` });
      await echoThrough(l2.listenPort!, Buffer.from('x')).catch(() => undefined);
      const err2 = await eventually('refusal recorded', () => e2.manager.forwardSnapshot(l2.id).lastConnectionError);
      assert.match(err2, /open failed: connect failed: Connection refused \(127\.0\.0\.1:\d+ as seen from fixture\) — nothing accepts connections there/);
      await assert.rejects(socksConnect(d.listenPort!, '127.0.0.1', closedPort, 5), /reply 0x5/, 'SOCKS5 "connection refused"');
      const r2 = await e2.manager.addForward({ host: 'fixture', spec: `-R ${await freePort()}:127.0.0.1:${closedPort}` });
      await echoThrough(r2.listenPort!, Buffer.from('x')).catch(() => undefined);
      const rerr2 = await eventually('-R refusal recorded', () => e2.manager.forwardSnapshot(r2.id).lastConnectionError);
      assert.match(rerr2, /connect to 127\.0\.0\.1:\d+ failed: connect ECONNREFUSED .* \(on this machine\) — start the service there/);
      for (const f of e2.manager.snapshot().hosts[0].forwards) assert.equal(f.state, 'listening', `${f.sshFlag} carries on`);
      figures.fault(6);
    } finally {
      await e2.dispose();
      await open.dispose();
    }
    await othersUndisturbed('unresolvable destination');
  });

  test('connect timeout (TCP accepted, no SSH banner; ConnectTimeout 2): timed out, clearly, in about 2 s', async () => {
    const t0 = Date.now();
    const snap = await engine.manager.addForward({ host: 'mute', spec: `-L ${await freePort()}:127.0.0.1:${echo.port}` });
    const took = Date.now() - t0;
    assert.equal(snap.state, 'reconnecting');
    assert.match(snap.error!, /ssh: connect to host 127\.0\.0\.1 port \d+: Connection timed out — no SSH answer within 2 s; check the network, VPN or ConnectTimeout\./);
    assert.ok(took >= 1900 && took < 6000, `timed out after ${took} ms`);
    figures.note('connect timeout reported after (ms, ConnectTimeout 2)', took);
    await remove(snap.id);
    figures.fault();
    await othersUndisturbed('connect timeout');
  });

  test('every failure above reached the log, none was swallowed', () => {
    const text = engine.text();
    for (const re of [/Address already in use/, /refused to listen/, /administratively prohibited/, /Permission denied \(publickey\)/, /Could not resolve hostname no-such-host\.invalid/, /no SSH answer within 2 s/]) {
      assert.match(text, re);
    }
    assert.ok(!text.includes(KEY_PASSPHRASE), 'the key passphrase is never logged');
  });
});
