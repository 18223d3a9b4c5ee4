/**
 * Socket reads into one reused buffer (src/core/reusedReads.ts: the SSH socket's, and copied, -R
 * targets'), over real loopback TCP:
 * every byte arrives once and in order through 'data', 'end' and 'close' still come, pause() holds
 * the bytes back (ssh2 pauses the socket until its crypto is ready), chunks handed out before
 * reuse() stay intact, and after it they really are views on the reused buffer — one buffer for
 * every socket, so several sockets receiving at once must each still get their own bytes. A socket
 * a server accepted (-L, -D) is handed to a new socket reading the same way: nothing sent before it
 * is resumed may be lost, half-close must still work both ways, and the server's connection count
 * must not keep a closing listener waiting.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { afterEach, describe, test } from 'node:test';
import { ReusedReads, readAcceptedIntoSharedBuffer } from '../../src/core/reusedReads';
import { eventually } from '../fixtures/engine';
import { isListening } from '../fixtures/servers';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const servers: net.Server[] = [];
const sockets: net.Socket[] = [];

/** A loopback server that runs `onSocket` for the one client it gets. */
async function serve(onSocket: (s: net.Socket) => void): Promise<number> {
  const server = net.createServer((s) => {
    sockets.push(s);
    s.on('error', () => undefined);
    onSocket(s);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as net.AddressInfo).port;
}

function connect(port: number): ReusedReads {
  const reads = new ReusedReads({ host: '127.0.0.1', port, noDelay: true });
  sockets.push(reads.socket);
  reads.socket.on('error', () => undefined);
  return reads;
}

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

describe('ReusedReads', () => {
  test('8 MiB arrive intact and in order, then end and close', async () => {
    const data = randomBytes(8 * 1024 * 1024);
    const port = await serve((s) => s.end(data));
    const reads = connect(port);
    reads.reuse();
    const got: Buffer[] = [];
    let ended = false;
    reads.socket.on('data', (chunk: Buffer) => got.push(Buffer.from(chunk)));
    reads.socket.on('end', () => { ended = true; });
    await new Promise((r) => reads.socket.on('close', r));
    assert.equal(ended, true, "'end' before 'close'");
    assert.ok(got.length > 1, 'more than one read');
    assert.equal(sha256(Buffer.concat(got)), sha256(data));
  });

  test('four sockets receiving at once through the one buffer each get their own bytes', async () => {
    const streams = [0, 1, 2, 3].map(() => randomBytes(4 * 1024 * 1024));
    const received = await Promise.all(streams.map(async (data) => {
      const port = await serve((s) => {
        // Slices of uneven size, so the four sockets' reads interleave at different offsets.
        let at = 0;
        const next = (): void => {
          while (at < data.length) {
            const n = 1000 + Math.floor(Math.random() * 200_000);
            const ok = s.write(data.subarray(at, at + n));
            at += n;
            if (!ok) return void s.once('drain', next);
          }
          s.end();
        };
        next();
      });
      const reads = connect(port);
      reads.reuse();
      const hash = createHash('sha256');
      reads.socket.on('data', (chunk: Buffer) => hash.update(chunk)); // consumed, not kept
      await new Promise((r) => reads.socket.on('close', r));
      return hash.digest('hex');
    }));
    assert.deepEqual(received, streams.map(sha256));
  });

  test('bytes sent while the socket is paused wait for resume(), none lost', async () => {
    const data = randomBytes(256 * 1024);
    const port = await serve((s) => s.end(data));
    const reads = connect(port);
    reads.socket.pause(); // as ssh2 does before its listener is attached
    await new Promise((r) => reads.socket.once('connect', r));
    await new Promise((r) => setTimeout(r, 200)); // the bytes are in our receive queue by now
    const got: Buffer[] = [];
    reads.socket.on('data', (chunk: Buffer) => got.push(Buffer.from(chunk)));
    reads.socket.resume();
    await new Promise((r) => reads.socket.on('close', r));
    assert.equal(sha256(Buffer.concat(got)), sha256(data));
  });

  test('chunks delivered before reuse() stay intact after later reads; after it they are views', async () => {
    let server!: net.Socket;
    const port = await serve((s) => { server = s; });
    const reads = connect(port);
    const kept: Buffer[] = [];
    reads.socket.on('data', (chunk: Buffer) => kept.push(chunk)); // kept without copying
    const send = async (text: string): Promise<void> => {
      const n = kept.length;
      server.write(text);
      await eventually(`"${text}" read`, () => kept.length > n);
    };
    await eventually('accepted', () => server);
    await send('first');
    await send('second');
    assert.deepEqual(kept.map(String), ['first', 'second'], 'copies until reuse()');
    reads.reuse();
    await send('third');
    await send('4th!!');
    // One buffer for all reads: the third chunk now shows the fourth's bytes.
    assert.deepEqual(kept.map(String), ['first', 'second', '4th!!', '4th!!']);
  });
});

describe('readAcceptedIntoSharedBuffer (-L and -D)', () => {
  /** A listener like ListeningForward's; resolves the adopted socket of its first connection. */
  async function listen(): Promise<{ port: number; server: net.Server; accepted: Promise<{ original: net.Socket; socket: net.Socket }> }> {
    let resolve!: (v: { original: net.Socket; socket: net.Socket }) => void;
    const accepted = new Promise<{ original: net.Socket; socket: net.Socket }>((r) => { resolve = r; });
    const server = net.createServer({ pauseOnConnect: true, noDelay: true, allowHalfOpen: true }, (original) => {
      const socket = readAcceptedIntoSharedBuffer(original);
      sockets.push(socket);
      socket.on('error', () => undefined);
      resolve({ original, socket });
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return { port: (server.address() as net.AddressInfo).port, server, accepted };
  }

  function client(port: number): net.Socket {
    const c = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    sockets.push(c);
    c.on('error', () => undefined);
    return c;
  }

  test("an upload sent before resume() arrives whole, in reads larger than Node's 64 KiB", async () => {
    const data = randomBytes(8 * 1024 * 1024);
    const { port, accepted } = await listen();
    const c = client(port);
    c.end(data);
    const { original, socket } = await accepted;
    assert.notEqual(socket, original, 'the accepted socket was handed over');
    await new Promise((r) => setTimeout(r, 200)); // bytes wait in the kernel while paused
    const got: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => got.push(chunk)); // kept without copying: each read is a copy
    socket.resume();
    await new Promise((r) => socket.on('end', r));
    assert.equal(sha256(Buffer.concat(got)), sha256(data));
    assert.ok(Math.max(...got.map((g) => g.length)) > 64 * 1024, `largest read ${Math.max(...got.map((g) => g.length))} bytes`);
  });

  test("half-close both ways: the client's end arrives, and the answer written after it still reaches the client", async () => {
    const { port, accepted } = await listen();
    const c = client(port);
    c.end('question');
    const { socket } = await accepted;
    const closed = new Promise((r) => socket.once('close', r));
    const got: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => got.push(chunk));
    socket.resume();
    await new Promise((r) => socket.once('end', r));
    assert.equal(Buffer.concat(got).toString(), 'question');
    socket.end('answer');
    const answer: Buffer[] = [];
    c.on('data', (chunk: Buffer) => answer.push(chunk));
    await new Promise((r) => c.once('end', r));
    assert.equal(Buffer.concat(answer).toString(), 'answer');
    await closed;
  });

  test('the listener closes while a handed-over connection is still open, and the connection keeps working', async () => {
    const { port, server, accepted } = await listen();
    const c = client(port);
    const { socket } = await accepted;
    socket.on('data', (chunk: Buffer) => socket.write(chunk));
    socket.resume();
    // Node's server.close() waits for the connections it counts; the handed-over one is not.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((r) => server.close(() => r())),
      new Promise<void>((_, reject) => { timer = setTimeout(() => reject(new Error('the listener still waits for the handed-over connection')), 5000); }),
    ]).finally(() => clearTimeout(timer));
    assert.equal(await isListening(port), false);
    c.write('still here');
    const [echo] = await new Promise<Buffer[]>((r) => c.once('data', (d: Buffer) => r([d])));
    assert.equal(echo!.toString(), 'still here');
  });
});
