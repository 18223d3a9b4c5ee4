/**
 * Fault: after a reconnect, the server still holds the old -R listener. The forward must retry
 * until the port is free, say why meanwhile (state 'reconnecting' with the message), never give
 * up, and never ask for another port.
 *
 * Two ways the port stays taken:
 * - the old connection is alive on the server's side: the relay silences only the connections
 *   open now, so the client's keepalive gives up and it reconnects through a fresh path while the
 *   old sshd child keeps its listener (until the old path "wakes up" and resets);
 * - another process holds the port on the server while sshd restarts.
 */
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { eventually, useEngine, type Engine } from '../fixtures/engine';
import { recordFigures } from '../fixtures/figures';
import { startEchoServer, type TestServer } from '../fixtures/servers';
import { freePort, type Sshd } from '../fixtures/sshd';
import { delay, echoCheck, forwardsIn, viaOf } from './util';

const KEEPALIVE = ['ServerAliveInterval 1', 'ServerAliveCountMax 3', 'ConnectTimeout 2', 'IdentityAgent none'];
/** How long the port stays taken. */
const HOLD_MS = 7000;

const figures = recordFigures();
let echo: TestServer;

before(async () => {
  echo = await startEchoServer();
});
after(async () => {
  await echo?.close();
});

/** Ports sshd was asked to listen on for -R, from its log. */
function requestedPorts(sshd: Sshd): number[] {
  return [...sshd.log().matchAll(/tcpip-forward listen \S+ port (\d+)/g)].map((m) => Number(m[1]));
}

/**
 * While the port is held: the -R forward stays 'reconnecting' and says why, keeps asking for the
 * same port, and never gives up; the other forwards are fine meanwhile.
 */
async function whileHeld(engine: Engine, sshd: Sshd, ids: string[], remoteId: string, port: number): Promise<void> {
  const r = await eventually('the -R forward says why it waits', () => {
    const f = engine.manager.forwardSnapshot(remoteId);
    return f.state === 'reconnecting' && /may still hold this port[\s\S]*retrying until it is free/.test(f.error ?? '') && f;
  }, 20_000);
  assert.match(r.error!, new RegExp(`remote port forwarding failed for listen port ${port}`));
  const others = ids.filter((id) => id !== remoteId);
  await eventually('-L and -D are back meanwhile', () => forwardsIn(engine.manager, others).every((f) => f.state === 'listening'), 20_000);
  for (const f of forwardsIn(engine.manager, others)) figures.transfer(await echoCheck(viaOf(f), echo, 10_000));
  const end = Date.now() + HOLD_MS;
  while (Date.now() < end) {
    const f = engine.manager.forwardSnapshot(remoteId);
    assert.equal(f.state, 'reconnecting', `never gives up while the port is held (${f.error})`);
    assert.ok(f.listenPort === undefined || f.listenPort === port, `never moves to another port (${f.listenPort})`);
    await delay(250);
  }
}

async function backAndSamePort(engine: Engine, sshd: Sshd, ids: string[], remoteId: string, port: number, t0: number): Promise<void> {
  await eventually('every forward listening once the port is free', () => forwardsIn(engine.manager, ids).every((f) => f.state === 'listening'), 45_000);
  figures.max('-R back after the port was freed, max (ms)', Date.now() - t0);
  const f = engine.manager.forwardSnapshot(remoteId);
  assert.equal(f.listenPort, port, 'the same port, never another');
  const asked = [...new Set(requestedPorts(sshd))];
  assert.deepEqual(asked, [port], `sshd was only ever asked for port ${port}, got ${asked.join(', ')}`);
  for (const g of forwardsIn(engine.manager, ids)) figures.transfer(await echoCheck(viaOf(g), echo, 50_000));
  const retries = engine.lines.filter((l) => /remote port forwarding failed for listen port \d+ — .* Next try in \d+ s\./.test(l.text)).length;
  assert.ok(retries >= 2, `retried and logged each failed try (${retries})`);
  figures.max('-R retries logged while the port was held, max', retries);
}

describe('-R port still held by the old sshd connection after a reconnect', () => {
  const fx = useEngine({ relayed: KEEPALIVE });

  test('retries until the old listener goes, says why, never gives up, never takes another port', async () => {
    const port = await freePort();
    const ids: string[] = [];
    for (const spec of [`-R ${port}:127.0.0.1:${echo.port}`, `-L ${await freePort()}:127.0.0.1:${echo.port}`, `-D ${await freePort()}`]) {
      const snap = await fx.engine.manager.addForward({ host: 'fixture', spec });
      assert.equal(snap.state, 'listening', snap.error);
      ids.push(snap.id);
    }
    const remoteId = ids[0];
    figures.transfer(await echoCheck(viaOf(fx.engine.manager.forwardSnapshot(remoteId)), echo, 10_000));
    const oldChildren = fx.sshd.childPids();
    // The old path goes silent; new connections get through.
    fx.relay.blackhole({ existingOnly: true });
    await whileHeld(fx.engine, fx.sshd, ids, remoteId, port);
    assert.ok(oldChildren.some((pid) => fx.sshd.childPids().includes(pid)), 'the old sshd connection is still there, holding the port');
    // The old path wakes up: the server learns its client is gone and lets the port go.
    const t0 = Date.now();
    fx.relay.restore();
    await backAndSamePort(fx.engine, fx.sshd, ids, remoteId, port, t0);
    figures.fault();
  });
});

describe('-R port held by another process on the server across an sshd restart', () => {
  const fx = useEngine();

  test('retries until the holder lets go, says why, never gives up, never takes another port', async () => {
    const port = await freePort();
    const ids: string[] = [];
    for (const spec of [`-R ${port}:127.0.0.1:${echo.port}`, `-L ${await freePort()}:127.0.0.1:${echo.port}`]) {
      const snap = await fx.engine.manager.addForward({ host: 'fixture', spec });
      assert.equal(snap.state, 'listening', snap.error);
      ids.push(snap.id);
    }
    const remoteId = ids[0];
    await fx.sshd.stop();
    await eventually('loss seen', () => forwardsIn(fx.engine.manager, ids).every((f) => f.state === 'reconnecting'), 20_000);
    // sshd binds "localhost": both 127.0.0.1 and ::1. Hold both.
    const holders: net.Server[] = [];
    for (const host of ['127.0.0.1', '::1']) {
      const h = net.createServer((s) => s.destroy());
      await new Promise<void>((resolve) => {
        h.once('error', () => resolve());
        h.listen({ host, port, exclusive: true }, () => { holders.push(h); resolve(); });
      });
    }
    assert.ok(holders.length >= 1, 'the port could be held');
    try {
      await fx.sshd.restart();
      await whileHeld(fx.engine, fx.sshd, ids, remoteId, port);
    } finally {
      await Promise.all(holders.map((h) => new Promise<void>((r) => h.close(() => r()))));
    }
    await backAndSamePort(fx.engine, fx.sshd, ids, remoteId, port, Date.now());
    figures.fault();
  });
});
