/**
 * Socket reads into one reused buffer (src/core/reusedReads.ts: the SSH socket's, and copied, -R
 * targets'), over real loopback TCP:
 * every byte arrives once and in order through 'data', 'end' and 'close' still come, pause() holds
 * the bytes back (ssh2 pauses the socket until its crypto is ready), chunks handed out before
 * reuse() stay intact, and after it they really are views on the reused buffer — one buffer for
 * every socket, so several sockets receiving at once must each still get their own bytes.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { afterEach, describe, test } from 'node:test';
import { ReusedReads } from '../../src/core/reusedReads';
import { eventually } from '../fixtures/engine';

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
