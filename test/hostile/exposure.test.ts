/**
 * No listener beyond loopback unless the user confirmed it (like `ssh -g` / GatewayPorts): for -L,
 * for the SOCKS listener of -D, and for what -R asks the server for. Tried with every spelling of
 * "all interfaces" and of addresses that only look local; checked in /proc/net/tcp{,6}, not by
 * asking the engine.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { makeEngine, type Engine } from '../fixtures/engine';
import { recordFigures } from '../fixtures/figures';
import { startEchoServer, type TestServer } from '../fixtures/servers';
import { freePort, startSshd, type Sshd } from '../fixtures/sshd';
import { isLoopbackListen, listeningAddresses } from '../faults/util';
import { formatForwardSpec } from '../../src/core/forwardSpec';

const figures = recordFigures();

/** Bind addresses that reach beyond loopback, or may: each must be refused unless confirmed. */
const NOT_LOOPBACK = [
  '*', '', '0.0.0.0', '[::]', '[0:0:0:0:0:0:0:0]', '[::ffff:0.0.0.0]', '0', '0.0.0.0.', '127.1', '2130706433', '0x7f000001',
  '017700000001', '192.0.2.1', '10.0.0.1', '[fe80::1]', '[::ffff:192.0.2.1]', 'example.com', 'localhost.localdomain',
  'ip6-localhost', 'localhost6', '127.0.0.1.nip.io', 'LOCALHOST.example', '127.0.0.1%lo', 'any', 'INADDR_ANY',
];
/** Loopback spellings: must work, and listen on loopback only. */
const LOOPBACK = ['127.0.0.1', 'localhost', 'LOCALHOST', 'localhost.', '127.0.0.2', '127.255.255.254', '[::1]', '[::ffff:127.0.0.1]', '[0:0:0:0:0:0:0:1]'];

let echo: TestServer;
let sshd: Sshd;
let engine: Engine;

before(async () => {
  echo = await startEchoServer();
  // A server that would honour a wildcard -R bind: only the client's confirmation stands in the way.
  sshd = await startSshd({ extraConfig: ['GatewayPorts clientspecified'] });
  // The ssh config says GatewayPorts yes: that must not widen a -L/-D without a bind address either.
  engine = makeEngine(sshd, { entry: { extra: ['IdentityAgent none', 'GatewayPorts yes'] } });
});
after(async () => {
  await engine?.dispose();
  await Promise.all([sshd?.dispose(), echo?.close()]);
});

function spec(kind: 'L' | 'D' | 'R', addr: string | undefined, port: number): string {
  const bind = addr === undefined ? `${port}` : `${addr}:${port}`;
  return kind === 'D' ? `-D ${bind}` : `-${kind} ${bind}:127.0.0.1:${echo.port}`;
}

describe('no listener beyond loopback unless confirmed', () => {
  for (const kind of ['L', 'D', 'R'] as const) {
    test(`-${kind}: ${NOT_LOOPBACK.length} non-loopback spellings are refused, and nothing listens`, async () => {
      for (const addr of NOT_LOOPBACK) {
        const port = await freePort();
        const s = spec(kind, addr, port);
        let snap;
        try {
          snap = await engine.manager.addForward({ host: 'fixture', spec: s });
        } catch (err) {
          // Rejected as input (e.g. a bind address the parser refuses): that is a refusal too.
          assert.match((err as Error).message, /\S/, s);
          figures.badInputs();
          continue;
        }
        assert.equal(snap.state, 'error', `${s}: ${snap.state}`);
        assert.match(snap.error!, /Refusing to (listen|ask .* to listen) on .* other machines/, s);
        assert.deepEqual(listeningAddresses(port), [], `${s}: nothing listens on port ${port}`);
        await engine.manager.removeForward(snap.id);
        figures.badInputs();
      }
    });
  }

  for (const kind of ['L', 'D', 'R'] as const) {
    test(`-${kind}: loopback spellings (and no address, despite GatewayPorts yes in the ssh config) listen on loopback only`, async () => {
      for (const addr of [undefined, ...LOOPBACK]) {
        const port = await freePort();
        const s = spec(kind, addr, port);
        const snap = await engine.manager.addForward({ host: 'fixture', spec: s });
        if (snap.state !== 'listening') {
          // An address this machine lacks (e.g. no IPv6) may fail to bind; it must not bind elsewhere.
          assert.equal(snap.state, 'error', s);
          assert.doesNotMatch(snap.error!, /Refusing/, `${s}: loopback is not refused`);
        }
        const addrs = listeningAddresses(port);
        assert.ok(addrs.every(isLoopbackListen), `${s}: listens on ${addrs.join(', ')}`);
        await engine.manager.removeForward(snap.id);
      }
    });
  }

  test('confirmed (allowNonLoopback), a wildcard bind is honoured: the confirmation is the only gate', async () => {
    for (const kind of ['L', 'D', 'R'] as const) {
      const port = await freePort();
      const snap = await engine.manager.addForward({ host: 'fixture', spec: spec(kind, '0.0.0.0', port), allowNonLoopback: true });
      assert.equal(snap.state, 'listening', `${formatForwardSpec(snap.spec)}: ${snap.error}`);
      assert.ok(listeningAddresses(port).includes(`0.0.0.0:${port}`), `-${kind} 0.0.0.0 listens on ${listeningAddresses(port).join(', ')}`);
      await engine.manager.removeForward(snap.id);
      assert.deepEqual(listeningAddresses(port), [], 'and stops listening when removed');
    }
  });
});
