/**
 * Faults of the path to the server, not of the server itself:
 * - the network goes silent (a laptop sleeps, Wi-Fi changes): a relay between client and sshd
 *   stops passing bytes without closing anything. Keepalives (ServerAliveInterval 1 ×
 *   ServerAliveCountMax 3) must notice within interval × countMax (+ slack), every forward must
 *   show 'reconnecting' with the reason, and when the path comes back everything must come back
 *   by itself and carry data;
 * - sshd hangs (SIGSTOP) and later continues (SIGCONT): same expectations;
 * - the network resets every connection (the relay destroys them all): back at once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventually, useEngine, type Engine } from '../fixtures/engine';
import { recordFigures } from '../fixtures/figures';
import { isBound, startEchoServer, type TestServer } from '../fixtures/servers';
import { freePort } from '../fixtures/sshd';
import { delay, echoCheck, forwardsIn, viaOf } from './util';

const INTERVAL_S = 1;
const COUNT_MAX = 3;
/** Slack over interval × countMax: ssh2 checks once per interval, plus timer and event-loop jitter. */
const SLACK_MS = 3000;
const KEEPALIVE = [`ServerAliveInterval ${INTERVAL_S}`, `ServerAliveCountMax ${COUNT_MAX}`, 'ConnectTimeout 2', 'IdentityAgent none'];

const figures = recordFigures();
let echo: TestServer;

before(async () => {
  echo = await startEchoServer();
});
after(async () => {
  await echo?.close();
});

async function addTriple(engine: Engine): Promise<string[]> {
  const ids: string[] = [];
  for (const spec of [`-L ${await freePort()}:127.0.0.1:${echo.port}`, `-R ${await freePort()}:127.0.0.1:${echo.port}`, `-D ${await freePort()}`]) {
    const snap = await engine.manager.addForward({ host: 'fixture', spec });
    assert.equal(snap.state, 'listening', `${spec}: ${snap.error ?? ''}`);
    ids.push(snap.id);
  }
  return ids;
}

async function checkAll(engine: Engine, ids: string[], what: string): Promise<void> {
  for (const f of forwardsIn(engine.manager, ids)) {
    const bytes = await echoCheck(viaOf(f), echo, 1 + Math.floor(Math.random() * 100_000)).catch((e: Error) => {
      throw new Error(`${what}: ${f.sshFlag} does not carry data: ${e.message}`);
    });
    figures.transfer(bytes);
  }
}

/** Waits until every forward is 'reconnecting' with a reason; returns how long that took from t0. */
async function lossDetected(engine: Engine, ids: string[], t0: number, what: string): Promise<number> {
  const limit = INTERVAL_S * COUNT_MAX * 1000 + SLACK_MS;
  await eventually(`${what}: every forward 'reconnecting' within ${limit} ms`, () =>
    forwardsIn(engine.manager, ids).every((f) => f.state === 'reconnecting' && f.error), limit + 2000);
  const took = Date.now() - t0;
  assert.ok(took <= limit, `${what}: the loss was noticed after ${took} ms, more than ${INTERVAL_S} s × ${COUNT_MAX} + ${SLACK_MS} ms`);
  for (const f of forwardsIn(engine.manager, ids)) {
    if (f.kind !== 'remote') assert.ok(isBound(f.listenPort!), `${what}: ${f.sshFlag} keeps its local port`);
  }
  return took;
}

describe('silent network drop (relay blackholed)', () => {
  const fx = useEngine({ relayed: KEEPALIVE });

  test('keepalive notices within interval × countMax, forwards say reconnecting, and all come back when the path does', async () => {
    const ids = await addTriple(fx.engine);
    await checkAll(fx.engine, ids, 'before the drop');
    const detections: number[] = [];
    for (let round = 1; round <= 2; round++) {
      const t0 = Date.now();
      fx.relay.blackhole();
      const took = await lossDetected(fx.engine, ids, t0, `drop ${round}`);
      detections.push(took);
      for (const f of forwardsIn(fx.engine.manager, ids)) {
        assert.match(f.error!, /Timeout, server 127\.0\.0\.1 not responding\.|no SSH answer within 2 s/, `${f.sshFlag} says why`);
      }
      // Stay "asleep" a while: attempts through the dead path must time out and say so.
      await eventually('a reconnect attempt timed out', () => /no SSH answer within 2 s/.test(fx.engine.text()), 15_000);
      const t1 = Date.now();
      fx.relay.restore();
      await eventually(`drop ${round}: every forward listening again after the path came back`, () =>
        forwardsIn(fx.engine.manager, ids).every((f) => f.state === 'listening'), 45_000);
      figures.max('recovery after the path came back, max (ms)', Date.now() - t1);
      await checkAll(fx.engine, ids, `after drop ${round}`);
      figures.fault();
    }
    figures.max('keepalive detection of a silent drop, max (ms)', Math.max(...detections));
    figures.note('keepalive settings', `ServerAliveInterval ${INTERVAL_S} × ServerAliveCountMax ${COUNT_MAX} (limit ${INTERVAL_S * COUNT_MAX * 1000 + SLACK_MS} ms)`);
    assert.match(fx.engine.text(), /Timeout, server 127\.0\.0\.1 not responding\./);
  });

  test('a network reset (every connection destroyed) is survived at once', async () => {
    const ids = forwardsIn(fx.engine.manager, fx.engine.manager.snapshot().hosts[0].forwards.map((f) => f.id)).map((f) => f.id);
    for (let round = 1; round <= 3; round++) {
      const t0 = Date.now();
      fx.relay.cut();
      await eventually(`reset ${round}: every forward listening again`, () =>
        Date.now() - t0 > 100 && forwardsIn(fx.engine.manager, ids).every((f) => f.state === 'listening'), 30_000);
      figures.max('recovery after a network reset, max (ms)', Date.now() - t0);
      await checkAll(fx.engine, ids, `after reset ${round}`);
      figures.fault();
    }
  });
});

describe('sshd hangs (SIGSTOP) and continues (SIGCONT)', () => {
  const fx = useEngine({ engine: { entry: { extra: KEEPALIVE } }, onStop: (s) => s.sshd.resume() });

  test('keepalive notices the hang, forwards say reconnecting, and all come back after SIGCONT', async () => {
    const ids = await addTriple(fx.engine);
    await checkAll(fx.engine, ids, 'before the hang');
    const t0 = Date.now();
    fx.sshd.pause();
    let took: number;
    try {
      took = await lossDetected(fx.engine, ids, t0, 'sshd stopped');
      // New connections reach the stopped listener's backlog and hear nothing: a clear timeout.
      await eventually('a reconnect attempt timed out', () => /no SSH answer within 2 s/.test(fx.engine.text()), 15_000);
      for (const f of forwardsIn(fx.engine.manager, ids)) assert.equal(f.state, 'reconnecting');
    } finally {
      fx.sshd.resume();
    }
    const t1 = Date.now();
    await eventually('every forward listening again after SIGCONT', () =>
      forwardsIn(fx.engine.manager, ids).every((f) => f.state === 'listening'), 45_000);
    figures.note('recovery after SIGCONT (ms)', Date.now() - t1);
    figures.note('keepalive detection of a stopped sshd (ms)', took);
    await checkAll(fx.engine, ids, 'after SIGCONT');
    figures.fault();
  });
});
