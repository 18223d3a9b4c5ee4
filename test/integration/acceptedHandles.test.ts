/**
 * -L and -D drive the connections they accept (-D reads its SOCKS handshake from the handle), and
 * -R the connections it opens to its targets, through their TCP handles (src/core/handleSocket.ts),
 * not net.Sockets. What a net.Socket piped to the channel did must still happen, checked through a
 * real sshd by the shapes in test/fixtures/forwardShapes.ts — and the handle path must be the one
 * the Nodes we run on take, or these would be testing the net.Socket fallback
 * (acceptedSockets.test.ts).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { e2eInstall } from '../e2e/harness';
import { eventually, useEngine } from '../fixtures/engine';
import { forwardHelpers, forwardShapes } from '../fixtures/forwardShapes';
import { sha256, socks5Request } from '../fixtures/servers';
import { freePort } from '../fixtures/sshd';
import { HandleSocket, connectHandle, handleConnects, handleSockets } from '../../src/core/handleSocket';

const suite = useEngine();

/** Whether `expression` (about the compiled handleSocket.js, as `m`) is true on code-server's Node 24. */
function onNode24(t: { skip(message: string): void }, expression: string): void {
  const node24 = e2eInstall().node24;
  if (!fs.existsSync(node24)) return t.skip(`no ${node24} (bash test/setup.sh installs code-server's Node)`);
  const module = path.join(__dirname, '..', '..', 'src', 'core', 'handleSocket.js');
  const r = spawnSync(node24, ['-e', `const m = require(${JSON.stringify(module)}); process.exit(${expression} ? 0 : 3)`], { encoding: 'utf8' });
  assert.equal(r.status, 0, `code-server's Node: ${r.stderr || `${expression} is false`}`);
}

for (const kind of ['L', 'D'] as const) {
  describe(`-${kind} connections on their TCP handles`, () => {
    const { withHeldUpload, connectionsOf } = forwardHelpers(suite, kind);

    test('the handle path is available on this Node and on code-server\'s', (t) => {
      assert.ok(handleSockets(), `Node ${process.version} lacks what handleSocket.ts drives: -${kind} would fall back to net.Sockets`);
      onNode24(t, 'm.handleSockets()');
    });

    forwardShapes(suite, kind);

    test('a client that resets while its upload is held back: the half-close that fails closes the connection', async () => {
      // The target reads nothing; the client sends 32 MiB and resets once the engine has stopped
      // reading it (the channel is full), with nothing queued to it. The target then finishes its
      // side: passing that on as a half-close to the reset client fails, and only that can tell the
      // engine. Handles only: a net.Socket ignores how its shutdown ended (Node's afterShutdown), so
      // on that path such a connection stays until the target reads again and the read sees the reset.
      await withHeldUpload(randomBytes(32 * 1024 * 1024), false, async ({ fwd, client, sink }) => {
        client.resetAndDestroy();
        await new Promise((r) => setTimeout(r, 200));
        assert.equal(connectionsOf(fwd.id), 1, 'nothing should have told the engine of the reset yet');
        sink.end();
        await eventually('the connection is no longer listed', () => connectionsOf(fwd.id) === 0);
      });
    });
  });
}

describe('-D: the SOCKS handshake on the handle', () => {
  const { withForward, collect, connectionsOf } = forwardHelpers(suite, 'D');

  test('a client that sends its data right behind its request, and its end: the target gets every byte', async () => {
    // Greeting, CONNECT request, 256 KiB and the FIN in one go, before any answer: the handshake
    // reads past the request, and what it read must reach the target first, then the rest.
    await withForward((s) => void collect(s).then((got) => s.end(`${sha256(got)}\n`)), async (fwd) => {
      const data = randomBytes(256 * 1024);
      const s = net.connect({ port: fwd.port, host: '127.0.0.1', allowHalfOpen: true });
      s.on('error', () => undefined);
      const reply = collect(s, 'the reply');
      s.end(Buffer.concat([Buffer.from([5, 1, 0]), socks5Request(fwd.socksTo!.host, fwd.socksTo!.port), data]));
      const got = await reply;
      assert.deepEqual([...got.subarray(0, 4)], [5, 0, 5, 0], 'SOCKS5 method answer and success');
      assert.equal(got.subarray(12).toString(), `${sha256(data)}\n`);
      await eventually('the connection is no longer listed', () => connectionsOf(fwd.id) === 0);
    });
  });

  for (const [what, bytes, said] of [
    ['an HTTP request', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), 'not a SOCKS client (first byte 0x47); point a SOCKS4/5 client at this port, not HTTP'],
    ['a greeting and then its end', Buffer.from([5, 1, 0]), 'client closed the connection during the SOCKS handshake'],
    ['a greeting and then nothing', Buffer.from([5, 1, 0]), 'no complete SOCKS request within 10 s; connection dropped'],
  ] as const) {
    test(`a client that sends ${what}: it is closed, the log says why, nothing is left open`, async () => {
      let reachedTarget = 0;
      await withForward(() => reachedTarget++, async (fwd) => {
        const fds = fs.readdirSync('/proc/self/fd').length;
        const s = net.connect({ port: fwd.port, host: '127.0.0.1', allowHalfOpen: true });
        s.on('error', () => undefined);
        const closedByEngine = new Promise((r) => s.on('end', r));
        s.resume();
        if (what.endsWith('nothing')) s.write(bytes);
        else s.end(bytes);
        await eventually('the engine logs why', () => suite.engine.lines.some((l) => l.text === `debug1: 127.0.0.1 port ${fwd.port}: ${said}`), 30_000);
        await closedByEngine;
        s.destroy();
        assert.equal(connectionsOf(fwd.id), 0);
        assert.equal(reachedTarget, 0, 'nothing should have reached the target');
        await eventually(`descriptors back to ${fds}`, () => fs.readdirSync('/proc/self/fd').length <= fds);
      });
    });
  }
});

describe('HandleSocket writes', () => {
  /**
   * A script for this Node and code-server's: a server whose accepted connections come as
   * HandleSockets writes 64 distinct 32 KiB chunks in one run of JavaScript — as ssh2 hands over
   * the packets of one read of the SSH socket — and half-closes at once; the client checks every
   * byte and the end. Prints the JSON of what it saw.
   */
  const script = (module: string): string => `
    const net = require('node:net');
    const crypto = require('node:crypto');
    const m = require(${JSON.stringify(module)});
    const chunks = Array.from({ length: 64 }, () => crypto.randomBytes(32 * 1024));
    const server = net.createServer(() => { console.log(JSON.stringify({ error: 'a net.Socket came, not a HandleSocket' })); process.exit(4); });
    server.listen(0, '127.0.0.1', () => {
      const ok = m.acceptHandles(server, (socket) => {
        const accepted = chunks.map((c) => socket.write(c));
        socket.end();
        socket.resume();
        socket.onEnd = () => socket.destroy();
        result.allTrue = accepted.every(Boolean);
      });
      const result = { acceptHandles: ok };
      const got = [];
      const client = net.connect(server.address().port, '127.0.0.1');
      client.on('data', (d) => got.push(d));
      client.on('end', () => {
        const all = Buffer.concat(got);
        result.intact = all.equals(Buffer.concat(chunks));
        result.length = all.length;
        client.end();
        server.close();
        console.log(JSON.stringify(result));
      });
    });`;

  for (const [name, node] of [['this Node', process.execPath], ["code-server's Node", e2eInstall().node24]] as const) {
    test(`on ${name}: accepted connections are HandleSockets, and 64 writes in one run then end() arrive whole, in order, before the end`, (t) => {
      if (!fs.existsSync(node)) return t.skip(`no ${node} (bash test/setup.sh installs code-server's Node)`);
      const module = path.join(__dirname, '..', '..', 'src', 'core', 'handleSocket.js');
      const r = spawnSync(node, ['-e', script(module)], { encoding: 'utf8', timeout: 20_000 });
      assert.equal(r.status, 0, r.stderr || r.stdout);
      assert.deepEqual(JSON.parse(r.stdout), { acceptHandles: true, allTrue: true, intact: true, length: 64 * 32 * 1024 });
    });
  }
});

describe('-R connections to their targets on TCP handles', () => {
  const { withForward, collect, settled, connectionsOf, receivedBy } = forwardHelpers(suite, 'R');

  test('the handle path is available on this Node and on code-server\'s', (t) => {
    assert.ok(handleConnects(), `Node ${process.version} lacks what handleSocket.ts connects with: -R would fall back to net.Sockets`);
    onNode24(t, 'm.handleConnects()');
  });

  forwardShapes(suite, 'R');

  test('a target that resets while its download is held back: the half-close that fails closes the connection', async () => {
    // The mirror of -L's: the target sends 32 MiB to a client that reads nothing and resets once
    // the engine has stopped reading it (the channel is full), with nothing queued to it. The client
    // then finishes its side: passing that on as a half-close to the reset target fails, and only
    // that can tell the engine.
    let source: net.Socket | undefined;
    await withForward((s) => {
      source = s;
      s.write(randomBytes(32 * 1024 * 1024));
    }, async (fwd) => {
      const client = net.connect({ port: fwd.port, host: '127.0.0.1', allowHalfOpen: true });
      client.on('error', () => undefined);
      client.pause();
      await eventually('the engine read some of the download', () => receivedBy(fwd.id) >= 1024 * 1024 && source);
      await settled(() => receivedBy(fwd.id));
      source!.resetAndDestroy();
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(connectionsOf(fwd.id), 1, 'nothing should have told the engine of the reset yet');
      client.end();
      await eventually('the connection is no longer listed', () => connectionsOf(fwd.id) === 0);
      client.destroy();
    });
  });

  test('an address or localhost is connected through a handle; other names are left to net.connect', async () => {
    const servers = await Promise.all(['127.0.0.1', '::1'].map((host) => new Promise<net.Server>((resolve) => {
      const srv = net.createServer((s) => s.destroy());
      srv.listen(0, host, () => resolve(srv));
    })));
    const [v4, v6] = servers.map((srv) => (srv.address() as net.AddressInfo).port) as [number, number];
    try {
      for (const [host, port] of [['127.0.0.1', v4], ['::1', v6], ['localhost', v4], ['LOCALHOST', v4]] as const) {
        const socket = await connectHandle(host, port, 5000);
        assert.ok(socket instanceof HandleSocket, `${host} port ${port}: ${String(socket)}`);
        socket.destroy();
      }
      assert.equal(await connectHandle('example.invalid', v4, 5000), undefined);
      await assert.rejects(connectHandle('127.0.0.1', await freePort(), 5000), /^Error: connect ECONNREFUSED 127\.0\.0\.1:\d+$/);
    } finally {
      for (const srv of servers) srv.close();
    }
  });

  test('a TCP handle that is not what connectHandle drives: it leaves this and later targets to net.connect', () => {
    // A Node whose handle lacks connect6 (a changed C++ class), played by a child process.
    const module = path.join(__dirname, '..', '..', 'src', 'core', 'handleSocket.js');
    const script = `delete process.binding('tcp_wrap').TCP.prototype.connect6;
      const m = require(${JSON.stringify(module)});
      const before = m.handleConnects();
      m.connectHandle('127.0.0.1', 9, 1000).then((s) => { console.log(JSON.stringify([before, s === undefined, m.handleConnects()])); });`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), [true, true, false], 'handleConnects() before, connectHandle gave up, handleConnects() after');
  });

  for (const [name, host] of [['localhost', 'localhost'], ['an IPv6 address', '::1']]) {
    test(`a target given as ${name}: the bytes arrive and come back`, async () => {
      await withForward((s) => s.pipe(s), async (fwd) => {
        const s = net.connect({ port: fwd.port, host: '127.0.0.1', allowHalfOpen: true });
        const data = randomBytes(1024 * 1024);
        const back = collect(s, 'the echo');
        s.end(data);
        assert.ok((await back).equals(data));
        await eventually('the connection is no longer listed', () => connectionsOf(fwd.id) === 0);
      }, host);
    });
  }

  test('a target where nothing listens: the failure names the address and the fix', async () => {
    const closed = await freePort();
    const snap = await suite.engine.manager.addForward({ host: 'fixture', spec: `-R ${await freePort()}:localhost:${closed}` });
    try {
      const s = net.connect({ port: snap.listenPort!, host: '127.0.0.1' });
      s.on('error', () => undefined);
      s.resume();
      const err = await eventually('the failure is recorded', () => suite.engine.manager.forwardSnapshot(snap.id).lastConnectionError);
      assert.match(err, new RegExp(`^connect to localhost:${closed} failed: connect ECONNREFUSED (127\\.0\\.0\\.1|::1):${closed}.* \\(on this machine\\) — start the service there`));
      s.destroy();
    } finally {
      await suite.engine.manager.removeForward(snap.id);
    }
  });
});
