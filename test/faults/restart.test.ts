/**
 * Fault: sshd killed and restarted 10 times in a row. Every forward (-L, -R, -D, including ones
 * added ad hoc after the first restart and while sshd was down) must come back on its own port
 * and carry data after each restart, with no user action; the log must say why each reconnect
 * attempt failed.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { eventually, makeEngine, type Engine } from '../fixtures/engine';
import { recordFigures } from '../fixtures/figures';
import { isBound, startEchoServer, type TestServer } from '../fixtures/servers';
import { freePort, startSshd, type Sshd } from '../fixtures/sshd';
import { delay, echoCheck, forwardsIn, viaOf } from './util';

const RESTARTS = 10;
const figures = recordFigures();

let echo: TestServer;
let sshd: Sshd;
let engine: Engine;

before(async () => {
  [echo, sshd] = await Promise.all([startEchoServer(), startSshd()]);
  engine = makeEngine(sshd);
});

after(async () => {
  await engine?.dispose();
  await Promise.all([sshd?.dispose(), echo?.close()]);
});

async function addSet(tag: string): Promise<string[]> {
  const [l, r, d] = [await freePort(), await freePort(), await freePort()];
  const specs = [`-L ${l}:127.0.0.1:${echo.port}`, `-R ${r}:127.0.0.1:${echo.port}`, `-D ${d}`];
  const ids: string[] = [];
  for (const spec of specs) {
    const snap = await engine.manager.addForward({ host: 'fixture', spec, label: `${tag} ${spec}` });
    assert.ok(snap.state === 'listening' || snap.state === 'reconnecting', `${spec} (${tag}): ${snap.state} ${snap.error ?? ''}`);
    ids.push(snap.id);
  }
  return ids;
}

/** Every forward carries a random-sized echo round trip, checked by SHA-256. */
async function checkAll(ids: string[], round: number): Promise<void> {
  for (const f of forwardsIn(engine.manager, ids)) {
    const size = 1 + Math.floor(Math.random() * 200_000);
    const bytes = await echoCheck(viaOf(f), echo, size).catch((e: Error) => {
      throw new Error(`after restart ${round}: ${f.sshFlag} (${f.label}) does not carry data: ${e.message}`);
    });
    figures.transfer(bytes);
  }
}

test(`sshd killed and restarted ${RESTARTS} times: every forward is back and carries data each time, no user action`, async () => {
  const ids = await addSet('initial');
  await checkAll(ids, 0);
  const ports = new Map(forwardsIn(engine.manager, ids).map((f) => [f.id, f.listenPort]));
  const recoveries: number[] = [];

  for (let round = 1; round <= RESTARTS; round++) {
    // Kill: every per-connection sshd (SIGKILL) and the listener; nothing answers on the port.
    await sshd.stop();
    await eventually(`round ${round}: every forward sees the loss`, () =>
      forwardsIn(engine.manager, ids).every((f) => f.state === 'reconnecting' && f.error), 20_000);
    for (const f of forwardsIn(engine.manager, ids)) {
      if (f.kind !== 'remote') assert.ok(isBound(f.listenPort!), `round ${round}: ${f.sshFlag} keeps its local port while reconnecting`);
    }
    if (round === 2) {
      // Added while sshd is down: must wait (reconnecting) and come up with the others.
      ids.push(...(await addSet(`while down in round ${round}`)));
    }
    await delay(200 + Math.floor(Math.random() * 1300));
    const t0 = Date.now();
    await sshd.restart();
    await eventually(`round ${round}: every forward listening again`, () =>
      forwardsIn(engine.manager, ids).every((f) => f.state === 'listening'), 30_000);
    recoveries.push(Date.now() - t0);
    if (round === 1) ids.push(...(await addSet('ad hoc after restart 1')));
    for (const f of forwardsIn(engine.manager, ids)) {
      if (!ports.has(f.id)) ports.set(f.id, f.listenPort);
      assert.equal(f.listenPort, ports.get(f.id), `round ${round}: ${f.sshFlag} came back on the same port`);
    }
    await checkAll(ids, round);
    figures.fault();
  }

  // The log says why each attempt failed: every "reconnecting ... in N s (attempt k)" line starts
  // with the cause.
  const retryLines = engine.lines.map((l) => l.text).filter((t) => / — reconnecting to fixture in [\d.]+ s \(attempt \d+\)\.$/.test(t));
  assert.ok(retryLines.length >= RESTARTS, `at least one reconnect line per restart, got ${retryLines.length}`);
  const known = /^(ssh: connect to host 127\.0\.0\.1 port \d+: Connection refused — is sshd running there|Connection to 127\.0\.0\.1 closed by remote host\.|Connection reset by 127\.0\.0\.1 port \d+|Connection to 127\.0\.0\.1 port \d+ closed before authentication completed\.|Connection to 127\.0\.0\.1 closed \(broken pipe\)|Connection to 127\.0\.0\.1 port \d+ closed during the SSH handshake — the server may be restarting\.)/;
  const unexplained = retryLines.filter((t) => !known.test(t));
  assert.deepEqual(unexplained, [], 'every reconnect line names the cause');
  figures.note('forwards kept alive', ids.length);
  figures.note('reconnect attempts logged with cause', retryLines.length);
  figures.note('recovery after restart, max (ms)', Math.max(...recoveries));
  figures.note('recovery after restart, median (ms)', recoveries.sort((a, b) => a - b)[Math.floor(recoveries.length / 2)]);
  // No user action: the engine never asked anything.
  assert.deepEqual(engine.prompter.calls, []);
});
