/** -L, -R and -D against a real OpenSSH sshd: bytes arrive intact, ports open and close, errors say why. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { makeEngine, eventually, type Engine } from '../fixtures/engine';
import {
  assertBothWays, echoThrough, httpGet, isListening, readAllFrom, sendAndCollect, sha256, socksConnect, startEchoServer, startHttpServer,
  startSinkServer, startSourceServer, type SinkServer, type TestServer,
} from '../fixtures/servers';
import { freePort, startSshd, type Sshd } from '../fixtures/sshd';

let sshd: Sshd;
let engine: Engine;
let echo: TestServer;
const listenPorts: number[] = [];

async function port(): Promise<number> {
  const p = await freePort();
  listenPorts.push(p);
  return p;
}

before(async () => {
  sshd = await startSshd();
  engine = makeEngine(sshd);
  echo = await startEchoServer();
});

after(async () => {
  await engine?.dispose();
  await echo?.close();
  await sshd?.dispose();
  for (const p of listenPorts) assert.equal(await isListening(p), false, `port ${p} still listening after dispose`);
});

describe('-L local forward', () => {
  test('listens on loopback, logs like OpenSSH and echoes bytes intact', async () => {
    const p = await port();
    const snap = await engine.manager.addForward({ host: 'fixture', spec: `-L ${p}:127.0.0.1:${echo.port}` });
    assert.equal(snap.state, 'listening', snap.error);
    assert.equal(snap.listenAddress, '127.0.0.1');
    assert.match(engine.text(), new RegExp(`debug1: Local forwarding listening on 127\\.0\\.0\\.1 port ${p}\\.`));
    assert.match(engine.text(), new RegExp(`debug1: Local connections to 127\\.0\\.0\\.1:${p} forwarded to remote address 127\\.0\\.0\\.1:${echo.port}`));
    assert.match(engine.text(), /debug1: Authentication succeeded \(publickey\)\./);
    const data = randomBytes(64 * 1024);
    assert.equal(sha256(await echoThrough(p, data)), sha256(data));
    const after = engine.manager.forwardSnapshot(snap.id);
    assert.equal(after.totalConnections, 1);
    assert.equal(after.bytesSent, data.length);
    assert.equal(after.bytesReceived, data.length);
    assert.match(engine.text(), /channel \d+: new \[direct-tcpip\] connect from 127\.0\.0\.1 port \d+/);
  });

  test('1 MiB each way arrives with the same SHA-256', async () => {
    const sink: SinkServer = await startSinkServer();
    const payload = randomBytes(1024 * 1024);
    const source = await startSourceServer(payload);
    try {
      const up = await port();
      const down = await port();
      await engine.manager.addForward({ host: 'fixture', spec: `${up}:127.0.0.1:${sink.port}`, kind: 'local' });
      await engine.manager.addForward({ host: 'fixture', spec: `LocalForward ${down} 127.0.0.1:${source.port}` });
      await assertBothWays(up, sink, down, payload);
    } finally {
      await sink.close();
      await source.close();
    }
  });

  test('two sessions downloading at once each keep their SHA-256 (one read buffer serves both)', async () => {
    const second = makeEngine(sshd); // its own session to the same server, in this process
    const payloads = [randomBytes(16 * 1024 * 1024), randomBytes(16 * 1024 * 1024)];
    const sources = await Promise.all(payloads.map((p) => startSourceServer(p)));
    try {
      const ports = [await port(), await port()];
      const snaps = [
        await engine.manager.addForward({ host: 'fixture', spec: `-L ${ports[0]}:127.0.0.1:${sources[0]!.port}` }),
        await second.manager.addForward({ host: 'fixture', spec: `-L ${ports[1]}:127.0.0.1:${sources[1]!.port}` }),
      ];
      for (const snap of snaps) assert.equal(snap.state, 'listening', snap.error);
      const got = await Promise.all(ports.map((p) => readAllFrom(p, '127.0.0.1', 60_000)));
      assert.deepEqual(got.map((b) => b.length), payloads.map((b) => b.length));
      assert.deepEqual(got.map(sha256), payloads.map(sha256));
    } finally {
      await second.dispose();
      await Promise.all(sources.map((s) => s.close()));
    }
  });

  test('stop closes the port, start opens it again and data flows', async () => {
    const p = await port();
    const snap = await engine.manager.addForward({ host: 'fixture', spec: `-L ${p}:127.0.0.1:${echo.port}` });
    assert.equal(await isListening(p), true);
    const stopped = await engine.manager.toggleForward(snap.id);
    assert.equal(stopped.state, 'stopped');
    assert.equal(await isListening(p), false);
    const started = await engine.manager.toggleForward(snap.id);
    assert.equal(started.state, 'listening');
    assert.equal((await echoThrough(p, Buffer.from('again'))).toString(), 'again');
  });

  test('a destination nobody listens on: the connection is closed and the reason names it as seen from the server', async () => {
    const dead = await freePort();
    const p = await port();
    const snap = await engine.manager.addForward({ host: 'fixture', spec: `-L ${p}:127.0.0.1:${dead}` });
    assert.equal(snap.state, 'listening');
    const got = await echoThrough(p, Buffer.from('x')).catch(() => Buffer.alloc(0));
    assert.equal(got.length, 0);
    const s = await eventually('connection error recorded', () => engine.manager.forwardSnapshot(snap.id).lastConnectionError);
    assert.match(s, /open failed: connect failed: Connection refused \(127\.0\.0\.1:\d+ as seen from fixture\)/);
    assert.match(engine.text(), /channel \d+: open failed: connect failed: Connection refused/);
    assert.equal(engine.manager.forwardSnapshot(snap.id).state, 'listening');
  });

  test('a port held by another process: the error names the holder and a free port, and nothing is remapped', async () => {
    const blocker = net.createServer();
    const p = await port();
    await new Promise<void>((r) => blocker.listen(p, '127.0.0.1', r));
    try {
      const snap = await engine.manager.addForward({ host: 'fixture', spec: `-L ${p}:127.0.0.1:${echo.port}` });
      assert.equal(snap.state, 'error');
      assert.match(snap.error!, new RegExp(`Address already in use — 127\\.0\\.0\\.1 port ${p} is held by .*node.* \\(pid ${process.pid}\\)`));
      assert.match(snap.error!, /pick a free port such as \d+ \(-L 127\.0\.0\.1:\d+:127\.0\.0\.1:\d+\)|pick a free port such as \d+ \(-L \d+:127\.0\.0\.1:\d+\)/);
      assert.equal(snap.listenPort, undefined);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });

  test('a non-loopback bind is refused unless confirmed', async () => {
    const p = await port();
    const refused = await engine.manager.addForward({ host: 'fixture', spec: `-L 0.0.0.0:${p}:127.0.0.1:${echo.port}` });
    assert.equal(refused.state, 'error');
    assert.match(refused.error!, /Refusing to listen on 0\.0\.0\.0 port \d+: that lets other machines on your network use this tunnel/);
    assert.equal(await isListening(p), false);
    await engine.manager.removeForward(refused.id);
    const confirmed = await engine.manager.addForward({ host: 'fixture', spec: `-L 0.0.0.0:${p}:127.0.0.1:${echo.port}`, allowNonLoopback: true });
    assert.equal(confirmed.state, 'listening', confirmed.error);
    assert.equal(confirmed.listenAddress, '0.0.0.0');
    await engine.manager.removeForward(confirmed.id);
    assert.equal(await isListening(p), false);
  });

  test('a burst of connections reaches the UI as a few snapshots, the last one exact', async () => {
    const p = await port();
    const snap = await engine.manager.addForward({ host: 'fixture', spec: `-L ${p}:127.0.0.1:${echo.port}` });
    assert.equal(snap.state, 'listening', snap.error);
    await new Promise((r) => setTimeout(r, 300));
    const events: number[] = [];
    const sub = engine.manager.onDidChange((s) => {
      const f = s.hosts.flatMap((h) => h.forwards).find((x) => x.id === snap.id);
      events.push(f?.totalConnections ?? -1);
    });
    try {
      const t0 = Date.now();
      const n = 200;
      const replies = await Promise.all(Array.from({ length: n }, (_, i) => echoThrough(p, Buffer.from(`c${i}`))));
      replies.forEach((r, i) => assert.equal(r.toString(), `c${i}`));
      const after = await eventually('the last snapshot counts every connection, none live', () => {
        const f = engine.manager.snapshot().hosts.flatMap((h) => h.forwards).find((x) => x.id === snap.id);
        return f && f.totalConnections === snap.totalConnections + n && f.connections.length === 0 && events.at(-1) === f.totalConnections ? f : undefined;
      });
      assert.equal(after.totalConnections, snap.totalConnections + n);
      // 400 opens and closes: one snapshot per 100 ms at most (plus the first at once), not one
      // per connection (each lists every live connection and crosses to the UI thread).
      const elapsed = Date.now() - t0;
      assert.ok(events.length <= Math.ceil(elapsed / 100) + 2, `${events.length} snapshots in ${elapsed} ms for ${n} connections`);
    } finally {
      sub.dispose();
      await engine.manager.removeForward(snap.id);
    }
  });

  test('a burst of connections logs the first 50 a second one by one and counts the rest; at Debug every one', async () => {
    const p = await port();
    const snap = await engine.manager.addForward({ host: 'fixture', spec: `-L ${p}:127.0.0.1:${echo.port}` });
    assert.equal(snap.state, 'listening', snap.error);
    const opened = new RegExp(`^debug1: Connection to port ${p} forwarding to 127\\.0\\.0\\.1 port ${echo.port} requested\\.$`);
    const summary = new RegExp(`^debug1: Port ${p}: (\\d+) more connections? in the last (?:1\\.0 s|\\d{1,3} ms), not logged one by one \\(only the first 50 are; the log level Debug logs every connection\\)\\.$`);
    const since = (mark: number) => engine.lines.slice(mark).map((l) => l.text);
    try {
      // VS Code's default (Info) is debug1.
      engine.log.level = 'debug1';
      let mark = engine.lines.length;
      const n = 200;
      await Promise.all(Array.from({ length: n }, (_, i) => echoThrough(p, Buffer.from(`b${i}`))));
      const counted = await eventually('every connection either logged or counted', () => {
        const lines = since(mark);
        const logged = lines.filter((t) => opened.test(t)).length;
        const skipped = lines.map((t) => summary.exec(t)).reduce((sum, m) => sum + (m ? Number(m[1]) : 0), 0);
        return logged + skipped === n ? { logged, skipped, lines } : undefined;
      });
      assert.ok(counted.skipped > 0, 'no connection was counted instead of logged');
      assert.ok(counted.logged >= 50, `only ${counted.logged} logged one by one`);
      assert.equal(counted.lines.filter((t) => /^debug1: channel \d+: new \[direct-tcpip\] connect from 127\.0\.0\.1 port \d+$/.test(t)).length, counted.logged);
      // At Debug (debug2) every connection has its lines, and nothing is summarized.
      engine.log.level = 'debug2';
      mark = engine.lines.length;
      await Promise.all(Array.from({ length: 80 }, (_, i) => echoThrough(p, Buffer.from(`d${i}`))));
      await eventually('all 80 logged', () => since(mark).filter((t) => opened.test(t)).length === 80);
      await new Promise((r) => setTimeout(r, 1200));
      assert.deepEqual(since(mark).filter((t) => summary.test(t)), []);
    } finally {
      engine.log.level = 'debug2';
      await engine.manager.removeForward(snap.id);
    }
  });

  test('the same forward twice is rejected with a message', async () => {
    const p = await port();
    await engine.manager.addForward({ host: 'fixture', spec: `-L ${p}:127.0.0.1:${echo.port}`, start: false });
    await assert.rejects(engine.manager.addForward({ host: 'fixture', spec: `-L ${p}:127.0.0.1:${echo.port}` }), /already exists/);
  });

  test('a bad spec is rejected with a message that shows a valid example', async () => {
    await assert.rejects(engine.manager.addForward({ host: 'fixture', spec: '-L 70000:db:5432' }), /65535[\s\S]*Example/);
  });
});

describe('-R remote forward', () => {
  test('a fixed port on the server reaches the local echo server', async () => {
    const p = await port();
    const snap = await engine.manager.addForward({ host: 'fixture', spec: `-R ${p}:127.0.0.1:${echo.port}` });
    assert.equal(snap.state, 'listening', snap.error);
    assert.equal(snap.listenPort, p);
    const data = randomBytes(200_000);
    assert.equal(sha256(await echoThrough(p, data)), sha256(data));
    assert.match(engine.text(), new RegExp(`Remote connections from localhost:${p} forwarded to local address 127\\.0\\.0\\.1:${echo.port}`));
  });

  test('a burst through -R logs the first 50 connections one by one; stopping says how many more came', async () => {
    const p = await port();
    const snap = await engine.manager.addForward({ host: 'fixture', spec: `-R ${p}:127.0.0.1:${echo.port}` });
    assert.equal(snap.state, 'listening', snap.error);
    const opened = /^debug1: channel \d+: new \[forwarded-tcpip\] connect from 127\.0\.0\.1 port \d+$/;
    const summary = new RegExp(`^debug1: Remote port ${p} on fixture: (\\d+) more connections? in the last (?:1\\.0 s|\\d{1,3} ms), not logged one by one \\(only the first 50 are; the log level Debug logs every connection\\)\\.$`);
    const mark = engine.lines.length;
    engine.log.level = 'debug1';
    try {
      const n = 100;
      await Promise.all(Array.from({ length: n }, (_, i) => echoThrough(p, Buffer.from(`r${i}`))));
    } finally {
      // Stopping says the count at once, without waiting for the second to end.
      await engine.manager.removeForward(snap.id);
      engine.log.level = 'debug2';
    }
    const lines = engine.lines.slice(mark).map((l) => l.text);
    const logged = lines.filter((t) => opened.test(t)).length;
    const skipped = lines.map((t) => summary.exec(t)).reduce((sum, m) => sum + (m ? Number(m[1]) : 0), 0);
    assert.equal(logged + skipped, 100, `${logged} logged + ${skipped} counted`);
    assert.ok(skipped > 0, 'no connection was counted instead of logged');
  });

  test('port 0: the server allocates a port, it is reported and routed', async () => {
    const http = await startHttpServer('hello through -R');
    try {
      const snap = await engine.manager.addForward({ host: 'fixture', spec: `-R 0:127.0.0.1:${http.port}` });
      assert.equal(snap.state, 'listening', snap.error);
      assert.ok(snap.listenPort && snap.listenPort > 0);
      listenPorts.push(snap.listenPort);
      assert.match(engine.text(), new RegExp(`Allocated port ${snap.listenPort} for remote forward to 127\\.0\\.0\\.1:${http.port}`));
      const res = await httpGet(snap.listenPort);
      assert.equal(res.body, 'hello through -R');
    } finally {
      await http.close();
    }
  });

  test('targets sending at once through -R, some read late, each stream arrives intact', async () => {
    // Six channels whose windows close while their readers wait: what ssh2 holds for a closed window
    // must go out intact once it opens, and no stream's bytes may end up in another's (the target
    // sockets read into one shared buffer: handing those reads on as views instead of copies fails
    // exactly this — src/core/remoteForward.ts).
    const PAYLOAD = 6 * 1024 * 1024;
    const sent: string[] = [];
    const target = net.createServer((s) => {
      s.on('error', () => undefined);
      const data = randomBytes(PAYLOAD);
      sent.push(sha256(data));
      s.end(data);
    });
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    try {
      const p = await port();
      const snap = await engine.manager.addForward({ host: 'fixture', spec: `-R ${p}:127.0.0.1:${(target.address() as net.AddressInfo).port}` });
      assert.equal(snap.state, 'listening', snap.error);
      const receive = (lateMs: number): Promise<string> => new Promise((resolve, reject) => {
        const s = net.connect(p, '127.0.0.1');
        const chunks: Buffer[] = [];
        s.on('error', reject);
        s.pause(); // the window through sshd fills and closes until this reader starts
        setTimeout(() => { s.on('data', (d: Buffer) => chunks.push(d)); s.resume(); }, lateMs);
        s.on('end', () => resolve(sha256(Buffer.concat(chunks))));
      });
      const got = await Promise.all([0, 400, 0, 800, 0, 400].map(receive));
      assert.equal(got.length, 6);
      assert.deepEqual([...got].sort(), [...sent].sort());
    } finally {
      await new Promise((r) => target.close(r));
    }
  });

  test('1 MiB both ways through -R keeps its SHA-256', async () => {
    const sink = await startSinkServer();
    const payload = randomBytes(1024 * 1024);
    const source = await startSourceServer(payload);
    try {
      const up = await port();
      const down = await port();
      await engine.manager.addForward({ host: 'fixture', spec: `-R ${up}:127.0.0.1:${sink.port}` });
      await engine.manager.addForward({ host: 'fixture', spec: `RemoteForward ${down} 127.0.0.1:${source.port}` });
      await assertBothWays(up, sink, down, payload);
    } finally {
      await sink.close();
      await source.close();
    }
  });

  test('stopping removes the listener on the server', async () => {
    const p = await port();
    const snap = await engine.manager.addForward({ host: 'fixture', spec: `-R ${p}:127.0.0.1:${echo.port}` });
    assert.equal(await isListening(p), true);
    await engine.manager.stopForward(snap.id);
    await eventually('server listener gone', async () => !(await isListening(p)));
  });

  test('a port the server cannot bind gives the cause and leaves other tunnels alone', async () => {
    // Held on every address (dual-stack ::), so sshd can bind neither 127.0.0.1 nor ::1.
    const blocker = net.createServer();
    const p = await port();
    await new Promise<void>((r) => blocker.listen({ port: p, host: '::', ipv6Only: false }, r));
    try {
      const snap = await engine.manager.addForward({ host: 'fixture', spec: `-R ${p}:127.0.0.1:${echo.port}` });
      assert.equal(snap.state, 'error');
      assert.match(snap.error!, new RegExp(`remote port forwarding failed for listen port ${p} — sshd on fixture refused to listen`));
      const other = engine.manager.snapshot().hosts[0].forwards.filter((f) => f.state === 'listening');
      assert.ok(other.length > 0);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });

  test('a target still being connected to when the forward stops: the connection goes no further', async () => {
    // The target's accept queue is full (a process that listens with a backlog of 1 and does not
    // accept for 1.5 s, two connections already queued), so our connection's SYN is dropped and
    // retried; the forward stops meanwhile. When the target finally answers, the connection sshd
    // sent us before the stop must not be joined to it: the client is closed, nothing is echoed.
    const child = spawn(process.execPath, ['-e', `
      const net = require('net');
      const srv = net.createServer((s) => s.pipe(s));
      srv.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
        console.log(srv.address().port);
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1500);
      });`], { stdio: ['ignore', 'pipe', 'ignore'] });
    const queued: net.Socket[] = [];
    const other = await engine.manager.addForward({ host: 'fixture', spec: `-L ${await port()}:127.0.0.1:${echo.port}` });
    try {
      const tport = await new Promise<number>((resolve, reject) => {
        child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
        child.once('exit', () => reject(new Error('the target process ended early')));
      });
      for (let i = 0; i < 2; i++) {
        const q = net.connect({ port: tport, host: '127.0.0.1' });
        q.on('error', () => undefined);
        queued.push(q);
        await new Promise((r) => q.once('connect', r));
      }
      const p = await port();
      const snap = await engine.manager.addForward({ host: 'fixture', spec: `-R ${p}:127.0.0.1:${tport}` });
      assert.equal(snap.state, 'listening', snap.error);
      const s = net.connect({ port: p, host: '127.0.0.1' });
      s.on('error', () => undefined);
      const got: Buffer[] = [];
      s.on('data', (d: Buffer) => got.push(d));
      const closed = new Promise<void>((r) => s.on('close', () => r()));
      s.write('anyone there?');
      await new Promise((r) => s.once('connect', r));
      // sshd has handed us the channel (and we are connecting to the target) before the stop.
      await eventually('the channel reached the engine', () => engine.text().includes(`[forwarded-tcpip] connect from 127.0.0.1 port ${s.localPort}`));
      await engine.manager.removeForward(snap.id);
      const wait = setTimeout(() => s.destroy(new Error('still open')), 15_000);
      await closed;
      clearTimeout(wait);
      assert.equal(Buffer.concat(got).toString(), '', 'bytes came back through a stopped forward');
      assert.notEqual(s.errored?.message, 'still open', 'the client was still connected 15 s after the forward stopped');
    } finally {
      for (const q of queued) q.destroy();
      child.kill('SIGKILL');
      await engine.manager.removeForward(other.id);
    }
  });

  test('a remote SOCKS request that arrives after the forward stopped is refused, not connected', async () => {
    // The client is mid-handshake (greeting answered, no request yet) when the forward stops: the
    // channel sshd opened for it is already ours. Its request must not open a connection through
    // a forward that no longer exists.
    const p = await port();
    const snap = await engine.manager.addForward({ host: 'fixture', spec: `-R ${p}` });
    assert.equal(snap.state, 'listening', snap.error);
    // Another tunnel to the host keeps the SSH connection (and so the channel) up.
    const other = await engine.manager.addForward({ host: 'fixture', spec: `-L ${await port()}:127.0.0.1:${echo.port}` });
    let reached = 0;
    const target = net.createServer((s) => {
      reached++;
      s.destroy();
    });
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    try {
      const s = net.connect({ port: p, host: '127.0.0.1' });
      s.on('error', () => undefined);
      const got: Buffer[] = [];
      s.on('data', (d: Buffer) => got.push(d));
      const closed = new Promise<void>((r) => s.on('close', () => r()));
      s.write(Buffer.from([5, 1, 0]));
      await eventually('the greeting is answered', () => Buffer.concat(got).length >= 2);
      await engine.manager.removeForward(snap.id);
      const tport = (target.address() as net.AddressInfo).port;
      s.write(Buffer.from([5, 1, 0, 1, 127, 0, 0, 1, tport >> 8, tport & 0xff]));
      await closed;
      const reply = Buffer.concat(got).subarray(2);
      assert.ok(reply.length === 0 || reply[1] !== 0, `the request was answered with success: ${reply.toString('hex')}`);
      assert.equal(reached, 0, 'the target was connected to');
    } finally {
      target.close();
      await engine.manager.removeForward(other.id);
    }
  });

  test('a remote SOCKS forward (-R port without target) connects from this side', async () => {
    const p = await port();
    const snap = await engine.manager.addForward({ host: 'fixture', spec: `-R ${p}` });
    assert.equal(snap.state, 'listening', snap.error);
    const s = await socksConnect(p, '127.0.0.1', echo.port, 5);
    assert.equal((await sendAndCollect(s, Buffer.from('remote socks'))).toString(), 'remote socks');
  });
});

describe('-D dynamic forward', () => {
  test('SOCKS5 with a domain name, an IPv4 address, and SOCKS4a', async () => {
    const p = await port();
    const snap = await engine.manager.addForward({ host: 'fixture', spec: `-D ${p}` });
    assert.equal(snap.state, 'listening', snap.error);
    assert.match(engine.text(), new RegExp(`Local dynamic forwarding listening on 127\\.0\\.0\\.1 port ${p}\\.`));
    for (const [host, version] of [['localhost', 5], ['127.0.0.1', 5], ['localhost', 4]] as const) {
      const s = await socksConnect(p, host, echo.port, version);
      const data = randomBytes(10_000);
      assert.equal(sha256(await sendAndCollect(s, data)), sha256(data), `SOCKS${version} to ${host}`);
    }
  });

  test('a refused destination is answered with a SOCKS failure', async () => {
    const p = await port();
    await engine.manager.addForward({ host: 'fixture', spec: `DynamicForward ${p}` });
    const dead = await freePort();
    await assert.rejects(socksConnect(p, '127.0.0.1', dead, 5), /connect failed \(reply 0x5\)/);
  });
});

describe('tunnels that clash', () => {
  test('a second forward on a port one of ours listens on names our tunnel, not "another process"', async () => {
    const p = await port();
    const first = await engine.manager.addForward({ host: 'fixture', spec: `-L ${p}:127.0.0.1:${echo.port}`, label: 'first' });
    assert.equal(first.state, 'listening');
    const second = await engine.manager.addForward({ host: 'fixture', spec: `-D ${p}` });
    assert.equal(second.state, 'error');
    assert.match(second.error!, new RegExp(`Port ${p} is already used by your tunnel "first" \\(-L ${p}:127\\.0\\.0\\.1:\\d+\\) on fixture\\. Stop that tunnel, or pick another port\\.`));
    assert.equal((await echoThrough(p, Buffer.from('first still works'))).toString(), 'first still works');
  });
});
