/**
 * Faults the engine must survive without user action: sshd killed and restarted (every forward,
 * ad-hoc ones included, comes back and carries data) and a server that forbids forwarding.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { eventually, useEngine } from '../fixtures/engine';
import { echoThrough, isListening, sendAndCollect, sha256, socksConnect, startEchoServer, type TestServer } from '../fixtures/servers';
import { freePort } from '../fixtures/sshd';

let echo: TestServer;

before(async () => {
  echo = await startEchoServer();
});
after(async () => {
  await echo?.close();
});

describe('reconnect', () => {
  const fx = useEngine();

  test('after sshd is killed and restarted, -L, -R and -D come back and carry data', async () => {
    const [l, r, d] = [await freePort(), await freePort(), await freePort()];
    const forwards = [
      await fx.engine.manager.addForward({ host: 'fixture', spec: `-L ${l}:127.0.0.1:${echo.port}` }),
      await fx.engine.manager.addForward({ host: 'fixture', spec: `-R ${r}:127.0.0.1:${echo.port}` }),
      await fx.engine.manager.addForward({ host: 'fixture', spec: `-D ${d}` }),
    ];
    forwards.forEach((f) => assert.equal(f.state, 'listening', f.error));
    const check = async (round: number): Promise<void> => {
      const data = randomBytes(50_000);
      assert.equal(sha256(await echoThrough(l, data)), sha256(data), `-L after restart ${round}`);
      assert.equal(sha256(await echoThrough(r, data)), sha256(data), `-R after restart ${round}`);
      const s = await socksConnect(d, '127.0.0.1', echo.port, 5);
      assert.equal(sha256(await sendAndCollect(s, data)), sha256(data), `-D after restart ${round}`);
    };
    await check(0);
    for (let round = 1; round <= 2; round++) {
      await fx.sshd.stop();
      await eventually('forwards see the loss', () => fx.engine.manager.snapshot().hosts[0].forwards.every((f) => f.state === 'reconnecting'));
      assert.equal(await isListening(l), true, 'the local port stays held while reconnecting');
      await new Promise((res) => setTimeout(res, 500));
      await fx.sshd.restart();
      await eventually('all forwards listening again', () => fx.engine.manager.snapshot().hosts[0].forwards.every((f) => f.state === 'listening'), 30_000);
      await check(round);
    }
    assert.match(fx.engine.text(), /Connection refused — is sshd running there[\s\S]*reconnecting to fixture in/);
  });
});

describe('a server that forbids forwarding (AllowTcpForwarding no)', () => {
  const fx = useEngine({ sshd: { extraConfig: ['AllowTcpForwarding no'] } });

  test('-L connections are refused with the sshd_config setting to change', async () => {
    const p = await freePort();
    const snap = await fx.engine.manager.addForward({ host: 'fixture', spec: `-L ${p}:127.0.0.1:${echo.port}` });
    assert.equal(snap.state, 'listening');
    await echoThrough(p, Buffer.from('x')).catch(() => undefined);
    const err = await eventually('refusal recorded', () => fx.engine.manager.forwardSnapshot(snap.id).lastConnectionError);
    assert.match(err, /administratively prohibited[\s\S]*AllowTcpForwarding, PermitOpen and DisableForwarding/);
    assert.match(fx.engine.text(), /channel \d+: open failed: administratively prohibited/);
  });

  test('-R is refused with the causes named', async () => {
    const p = await freePort();
    const snap = await fx.engine.manager.addForward({ host: 'fixture', spec: `-R ${p}:127.0.0.1:${echo.port}` });
    assert.equal(snap.state, 'error');
    assert.match(snap.error!, /remote port forwarding failed for listen port \d+ — sshd on fixture refused to listen[\s\S]*AllowTcpForwarding/);
    assert.equal(await isListening(p), false);
  });
});
