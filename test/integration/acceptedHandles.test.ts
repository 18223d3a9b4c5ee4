/**
 * -L drives the connections it accepts through their TCP handles (src/core/handleSocket.ts), not
 * net.Sockets. What a net.Socket piped to the channel did must still happen, checked here through a
 * real sshd: half-close either way with the other direction still flowing, backpressure both ways
 * with every byte intact, a client's reset closing the connection on both sides, no descriptor left
 * open — and the handle path must be the one the Nodes we run on take, or these would be testing
 * the net.Socket fallback.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { e2eInstall } from '../e2e/harness';
import { eventually, useEngine } from '../fixtures/engine';
import { isListening, sha256, startEchoServer, type TestServer } from '../fixtures/servers';
import { freePort } from '../fixtures/sshd';
import { handleSockets } from '../../src/core/handleSocket';
import { allForwards } from '../../src/core/model';

const suite = useEngine();
let echo: TestServer;

before(async () => {
  echo = await startEchoServer();
});

after(async () => {
  await echo?.close();
});

/** A -L forward to `target`; returns its local port and id. */
async function forwardTo(target: number): Promise<{ port: number; id: string }> {
  const port = await freePort();
  const snap = await suite.engine.manager.addForward({ host: 'fixture', spec: `-L ${port}:127.0.0.1:${target}` });
  assert.equal(snap.state, 'listening', snap.error);
  return { port, id: snap.id };
}

/**
 * Runs `body` with a -L forward to a fresh target server that hands each connection to `onSocket`;
 * removes the forward and closes the server (and its connections) after.
 */
async function withForward(onSocket: (s: net.Socket) => void, body: (fwd: { port: number; id: string }) => Promise<void>): Promise<void> {
  const srv = await target(onSocket);
  const fwd = await forwardTo(srv.port);
  try {
    await body(fwd);
  } finally {
    await suite.engine.manager.removeForward(fwd.id);
    await srv.close();
  }
}

/** A target server that hands each accepted socket (half-open allowed) to `onSocket`; close() ends them all. */
async function target(onSocket: (s: net.Socket) => void): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    onSocket(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise((r) => {
      server.close(() => r());
      for (const s of sockets) s.destroy();
    }),
  };
}

/** Everything `s` reads until its peer's FIN; fails instead of waiting forever for one that never comes. */
function collect(s: net.Socket, what = 'the stream'): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => reject(new Error(`${what}: no end after 30 s (${Buffer.concat(chunks).length} bytes read)`)), 30_000);
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** A full garbage collection (V8's `gc`, exposed for this test only). */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** `read()` once it has stopped moving (the same in two polls 200 ms apart). */
async function settled(read: () => number): Promise<number> {
  let last = -1;
  return eventually('the counter settles', async () => {
    await new Promise((r) => setTimeout(r, 200));
    const now = read();
    const same = now === last;
    last = now;
    return same && now;
  });
}

const connectionsOf = (id: string): number => allForwards(suite.engine.manager.snapshot().hosts).find((f) => f.id === id)?.connections.length ?? -1;
const firstConnection = (id: string) => allForwards(suite.engine.manager.snapshot().hosts).find((f) => f.id === id)?.connections[0];
const receivedBy = (id: string): number => firstConnection(id)?.bytesReceived ?? 0;
const sentBy = (id: string): number => firstConnection(id)?.bytesSent ?? 0;

describe('-L connections on their TCP handles', () => {
  test('the handle path is available on this Node and on code-server\'s', (t) => {
    assert.ok(handleSockets(), `Node ${process.version} lacks what handleSocket.ts drives: -L would fall back to net.Sockets`);
    const node24 = e2eInstall().node24;
    if (!fs.existsSync(node24)) return t.skip(`no ${node24} (bash test/setup.sh installs code-server's Node)`);
    const module = path.join(__dirname, '..', '..', 'src', 'core', 'handleSocket.js');
    const r = spawnSync(node24, ['-e', `process.exit(require(${JSON.stringify(module)}).handleSockets() ? 0 : 3)`], { encoding: 'utf8' });
    assert.equal(r.status, 0, `code-server's Node: ${r.stderr || 'handleSockets() returned undefined'}`);
  });

  test('the client half-closes: the target reads to the end and its answer still comes back', async () => {
    // Like `nc -N`: send a request, shut down the sending side, read the whole reply.
    await withForward((s) => void collect(s).then((got) => s.end(`${sha256(got)}\n`)), async (fwd) => {
      const request = randomBytes(1024 * 1024);
      const s = net.connect({ port: fwd.port, host: '127.0.0.1', allowHalfOpen: true });
      const reply = collect(s, 'the reply');
      s.end(request);
      assert.equal((await reply).toString(), `${sha256(request)}\n`);
    });
  });

  test('the target half-closes first: its greeting and FIN arrive, and the client can still send', async () => {
    let received: Promise<Buffer> | undefined;
    await withForward((s) => {
      received = collect(s);
      s.end('220 ready, send your data\r\n');
    }, async (fwd) => {
      const s = net.connect({ port: fwd.port, host: '127.0.0.1', allowHalfOpen: true });
      const greeting = await collect(s, 'the greeting');
      assert.equal(greeting.toString(), '220 ready, send your data\r\n');
      const data = randomBytes(256 * 1024);
      s.end(data);
      await eventually('the target accepted the connection', () => received !== undefined);
      assert.equal(sha256(await received!), sha256(data));
      // Both directions have ended (ours first): the connection is over on our side too.
      await eventually('the connection is no longer listed', () => connectionsOf(fwd.id) === 0);
    });
  });

  test('a client that stops reading holds the download back; what it reads later is intact', async () => {
    const payload = randomBytes(32 * 1024 * 1024);
    await withForward((s) => s.end(payload), async (fwd) => {
      const s = net.connect({ port: fwd.port, host: '127.0.0.1' });
      s.pause();
      // Bytes reach the engine and stop in the kernel's buffers and our write queue, and the channel
      // stops taking more: the engine holds a window's worth, not the download.
      await eventually('the engine received some of the download', () => receivedBy(fwd.id) >= 1024 * 1024);
      const held = await settled(() => receivedBy(fwd.id));
      assert.ok(held < payload.length / 2, `the engine took ${held} of ${payload.length} bytes for a client that reads nothing`);
      // What waits in the write queue is written later from its chunk: collect all garbage and
      // reuse the freed memory now, so that a chunk nothing kept alive arrives overwritten.
      collectGarbage();
      for (let i = 0; i < 64; i++) Buffer.alloc(64 * 1024, 0xaa);
      const got = collect(s, 'the download');
      s.resume();
      assert.equal(sha256(await got), sha256(payload));
    });
  });

  test('a target that reads late holds the upload back; it gets every byte', async () => {
    const payload = randomBytes(32 * 1024 * 1024);
    let sink: net.Socket | undefined;
    await withForward((s) => {
      s.pause();
      sink = s;
    }, async (fwd) => {
      const s = net.connect({ port: fwd.port, host: '127.0.0.1', allowHalfOpen: true });
      s.on('error', () => undefined);
      s.end(payload);
      await eventually('the engine read some of the upload', () => sentBy(fwd.id) >= 1024 * 1024 && sink);
      const held = await settled(() => sentBy(fwd.id));
      assert.ok(held < payload.length / 2, `the engine read ${held} of ${payload.length} bytes for a target that reads nothing`);
      const got = collect(sink!, 'the upload');
      sink!.resume();
      assert.equal(sha256(await got), sha256(payload));
    });
  });

  test('a client that resets the connection: it is gone from the forward and the target sees it close', async () => {
    let targetClosed: Promise<void> | undefined;
    await withForward((s) => {
      s.resume();
      // sshd closes its side when the channel closes: the target reads its end.
      targetClosed = new Promise((r) => s.on('end', () => r()));
    }, async (fwd) => {
      const s = net.connect({ port: fwd.port, host: '127.0.0.1' });
      s.on('error', () => undefined);
      s.write('some bytes');
      await eventually('the connection is listed', () => connectionsOf(fwd.id) === 1 && targetClosed !== undefined);
      s.resetAndDestroy();
      await targetClosed;
      await eventually('the connection is no longer listed', () => connectionsOf(fwd.id) === 0);
    });
  });

  test('400 connections of mixed shapes, 16 at a time: every answer intact, none left open', async () => {
    // Requests of 0 B to 4 MiB written in random pieces, then half-closed; a target that answers
    // with the request's SHA-256 and a body whose size the request decides; some clients reading
    // slowly, some resetting mid-request. Seeded, so a failure repeats.
    let seed = 20261126;
    const random = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const answer = (req: Buffer): Buffer => {
      const h = createHash('sha256').update(req).digest();
      return Buffer.concat([h, Buffer.alloc(req.length ? req[0]! * 4096 : 10, h[0])]);
    };
    const failures: string[] = [];
    await withForward((s) => void collect(s, 'a request').then((req) => s.end(answer(req)), () => s.destroy()), async (fwd) => {
      const one = (n: number): Promise<void> => new Promise((resolve) => {
        const shape = random();
        const req = randomBytes(random() < 0.3 ? Math.floor(random() * 4 * 1024 * 1024) : Math.floor(random() * 2000));
        const s = net.connect({ port: fwd.port, host: '127.0.0.1', allowHalfOpen: true });
        s.on('error', () => undefined);
        if (shape < 0.1) {
          s.write(req.subarray(0, 100), () => {
            s.resetAndDestroy();
            resolve();
          });
          return;
        }
        const chunks: Buffer[] = [];
        s.on('data', (d: Buffer) => {
          chunks.push(d);
          if (shape < 0.3) {
            s.pause();
            setTimeout(() => s.resume(), 2);
          }
        });
        s.on('end', () => {
          if (!Buffer.concat(chunks).equals(answer(req))) failures.push(`connection ${n}: ${req.length} B request, answer differs`);
          s.end();
          resolve();
        });
        let sent = 0;
        const more = (): void => {
          if (sent >= req.length) return void s.end();
          const piece = req.subarray(sent, sent + 1 + Math.floor(random() * 256 * 1024));
          sent += piece.length;
          if (s.write(piece)) setImmediate(more);
          else s.once('drain', more);
        };
        s.on('connect', more);
      });
      let next = 0;
      await Promise.all(Array.from({ length: 16 }, async () => {
        while (next < 400) await one(next++);
      }));
      assert.deepEqual(failures, []);
      await eventually('every connection closed', () => connectionsOf(fwd.id) === 0);
    });
  });

  test('200 short connections leave no descriptor open, and removing the forward closes its port', async () => {
    const fwd = await forwardTo(echo.port);
    const fds = (): number => fs.readdirSync('/proc/self/fd').length;
    const echoOnce = (): Promise<string> => new Promise((resolve, reject) => {
      const s = net.connect({ port: fwd.port, host: '127.0.0.1' }, () => s.write('x'));
      s.once('data', (d: Buffer) => {
        s.end();
        resolve(d.toString());
      });
      s.on('error', reject);
    });
    assert.equal(await echoOnce(), 'x');
    await eventually('the first connection closed', () => connectionsOf(fwd.id) === 0);
    const before = fds();
    for (let i = 0; i < 200; i++) assert.equal(await echoOnce(), 'x');
    await eventually('every connection closed', () => connectionsOf(fwd.id) === 0);
    await eventually(`descriptors back to ${before}`, () => fds() <= before);
    await suite.engine.manager.removeForward(fwd.id);
    assert.equal(await isListening(fwd.port), false);
  });
});
