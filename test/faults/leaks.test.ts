/**
 * Fault: stop and dispose while data is flowing. Afterwards nothing may be left: no listener (local
 * or on the server), no socket, no SSH channel (the server's sockets to the targets), no timer, no
 * sshd child process, no file descriptor. Counted with /proc/self/fd, process.getActiveResourcesInfo(),
 * /proc/net/tcp and the fixture sshd's process tree, before and after.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type * as net from 'node:net';
import { after, before, test } from 'node:test';
import { eventually, makeEngine, type Engine } from '../fixtures/engine';
import { recordFigures } from '../fixtures/figures';
import { isBound, startEchoServer, type TestServer } from '../fixtures/servers';
import { freePort, startSshd, type Sshd } from '../fixtures/sshd';
import { activeResources, delay, fdCount, forwardsIn, grownResources, openVia, socketsOnPort, viaOf } from './util';

const PER_FORWARD = 20;
const CYCLES = 3;
const figures = recordFigures();

let echo: TestServer;
let sshd: Sshd;

before(async () => {
  [echo, sshd] = await Promise.all([startEchoServer(), startSshd()]);
});
after(async () => {
  await Promise.all([sshd?.dispose(), echo?.close()]);
});

interface Load {
  sockets: net.Socket[];
  closed: Promise<void>[];
  bytes: () => number;
  stop(): void;
}

/** PER_FORWARD connections through each forward, each pumping data both ways until closed. */
async function startLoad(engine: Engine, ids: string[]): Promise<Load> {
  const chunk = randomBytes(64 * 1024);
  const sockets: net.Socket[] = [];
  const closed: Promise<void>[] = [];
  let bytes = 0;
  let stopped = false;
  const pumps: (() => void)[] = [];
  // Open every connection first (a saturated session makes new channels slow), then pump.
  for (const f of forwardsIn(engine.manager, ids)) {
    for (let i = 0; i < PER_FORWARD; i++) {
      const s = await openVia(viaOf(f), echo);
      sockets.push(s);
      closed.push(new Promise((r) => s.once('close', () => r())));
      s.on('error', () => undefined);
      s.on('data', (d: Buffer) => { bytes += d.length; });
      const pump = (): void => {
        while (!stopped && !s.destroyed && s.write(chunk)) { /* fill until backpressure */ }
      };
      s.on('drain', pump);
      pumps.push(pump);
    }
  }
  pumps.forEach((p) => p());
  return { sockets, closed, bytes: () => bytes, stop: () => { stopped = true; } };
}

async function addTriple(engine: Engine): Promise<{ ids: string[]; ports: number[] }> {
  const ids: string[] = [];
  const ports: number[] = [];
  for (const spec of [`-L ${await freePort()}:127.0.0.1:${echo.port}`, `-R ${await freePort()}:127.0.0.1:${echo.port}`, `-D ${await freePort()}`]) {
    const snap = await engine.manager.addForward({ host: 'fixture', spec });
    assert.equal(snap.state, 'listening', `${spec}: ${snap.error}`);
    ids.push(snap.id);
    ports.push(snap.listenPort!);
  }
  return { ids, ports };
}

/** Waits for every load socket to close; counts the ones that did not as leaks. */
async function loadClosed(load: Load, what: string): Promise<number> {
  const timeout = delay(10_000).then(() => 'timeout' as const);
  await Promise.race([Promise.all(load.closed), timeout]);
  const open = load.sockets.filter((s) => !s.destroyed && !s.closed).length;
  if (open) figures.leak(`${what}: client connection still open (the engine did not close its end)`, open);
  load.sockets.forEach((s) => s.destroy());
  return open;
}

test(`stop and dispose under load leave nothing behind (${CYCLES} cycles)`, async () => {
  // Baseline: servers and sshd up, no engine.
  await delay(200);
  const fdsBefore = fdCount();
  const resBefore = activeResources();
  const sshdChildrenBefore = sshd.childPids().length;
  const echoSocketsBefore = socketsOnPort(echo.port);
  let leaks = 0;
  let movedTotal = 0;

  for (let cycle = 1; cycle <= CYCLES; cycle++) {
    const engine = makeEngine(sshd);
    // 1. stopForward while every connection is busy.
    const a = await addTriple(engine);
    const loadA = await startLoad(engine, a.ids);
    await eventually('data flowing', () => loadA.bytes() > 4 * 1024 * 1024, 20_000);
    const snapBusy = forwardsIn(engine.manager, a.ids);
    assert.ok(snapBusy.every((f) => f.connections.length === PER_FORWARD), `all ${PER_FORWARD} connections per forward are live`);
    await Promise.all(a.ids.map((id) => engine.manager.stopForward(id)));
    loadA.stop();
    leaks += await loadClosed(loadA, `cycle ${cycle} stop`);
    movedTotal += loadA.bytes();
    for (const f of forwardsIn(engine.manager, a.ids)) {
      assert.equal(f.state, 'stopped');
      if (f.connections.length) figures.leak(`cycle ${cycle}: ${f.sshFlag} still lists connections after stop`, f.connections.length);
      leaks += f.connections.length;
    }
    for (const p of a.ports) {
      // Local listeners close at once; sshd closes the -R listener when asked (cancel-tcpip-forward).
      const gone = await eventually(`port ${p} released`, () => !isBound(p), 5000).catch(() => false);
      if (!gone) { figures.leak(`cycle ${cycle}: listener on port ${p} left after stop`); leaks++; }
    }

    // 2. dispose the whole manager while the next load runs.
    const b = await addTriple(engine);
    const loadB = await startLoad(engine, b.ids);
    await eventually('data flowing', () => loadB.bytes() > 4 * 1024 * 1024, 20_000);
    await engine.dispose();
    loadB.stop();
    leaks += await loadClosed(loadB, `cycle ${cycle} dispose`);
    movedTotal += loadB.bytes();
    for (const p of b.ports) {
      const gone = await eventually(`port ${p} released`, () => !isBound(p), 5000).catch(() => false);
      if (!gone) { figures.leak(`cycle ${cycle}: listener on port ${p} left after dispose`); leaks++; }
    }
    figures.fault(2);
  }

  // The server side: every sshd child of our connections exits; every channel's socket to the
  // target closes (the echo server sees no connection left).
  const childrenGone = await eventually('sshd session children gone', () => sshd.childPids().length <= sshdChildrenBefore, 10_000).catch(() => false);
  if (!childrenGone) {
    const n = sshd.childPids().length - sshdChildrenBefore;
    figures.leak('sshd child process left (its SSH connection was never closed)', n);
    leaks += n;
  }
  const channelsGone = await eventually('no socket left to the target', () => socketsOnPort(echo.port) <= echoSocketsBefore && echo.connectionCount > 0, 10_000).catch(() => false);
  if (!channelsGone) {
    const n = socketsOnPort(echo.port) - echoSocketsBefore;
    figures.leak('socket to the forward target left (an SSH channel was never closed)', n);
    leaks += n;
  }
  // This process: descriptors and libuv handles (sockets, servers, timers) back to the baseline.
  let fdsAfter = fdCount();
  let grown = grownResources(resBefore, activeResources());
  await eventually('descriptors and handles back to the baseline', () => {
    fdsAfter = fdCount();
    grown = grownResources(resBefore, activeResources());
    return fdsAfter <= fdsBefore && grown.length === 0;
  }, 10_000).catch(() => undefined);
  if (fdsAfter > fdsBefore) { figures.leak('file descriptor', fdsAfter - fdsBefore); leaks += fdsAfter - fdsBefore; }
  for (const g of grown) {
    const n = Number(g.split('+')[1]);
    figures.leak(`active handle ${g.split(' ')[0]}`, n);
    leaks += n;
  }
  figures.note('fds before / after', `${fdsBefore} / ${fdsAfter}`);
  figures.note('connections torn down under load', CYCLES * 2 * 3 * PER_FORWARD);
  figures.note('bytes moved under load while stopping', `${(movedTotal / 1048576).toFixed(0)} MiB`);
  assert.equal(leaks, 0, `leaks: ${figures.current.leaks.join('; ')}`);
});
