/**
 * Load generator and forward targets, all on 127.0.0.1: a bulk server (upload sink / download
 * source chosen by a 9-byte header), an echo server, and the matching clients (optionally through a
 * SOCKS5 proxy for -D).
 */
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { performance } from 'node:perf_hooks';

/** What the bulk server and clients send, made on first use (the engine host imports echoOnce and its RSS is measured). */
let chunk: Buffer | undefined;
const bulkChunk = (): Buffer => (chunk ??= randomBytes(1024 * 1024));
const noop = (): void => undefined;

export interface Target {
  port: number;
  close(): Promise<void>;
}

function serve(onSocket: (s: net.Socket) => void): Promise<Target> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ noDelay: true }, (s) => {
    sockets.add(s);
    s.on('error', noop);
    s.on('close', () => sockets.delete(s));
    onSocket(s);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => {
      server.on('error', noop);
      resolve({
        port: (server.address() as net.AddressInfo).port,
        close: () => new Promise<void>((r) => {
          server.close(() => r());
          for (const s of sockets) s.destroy();
        }),
      });
    });
  });
}

/** Writes `total` bytes of the bulk chunk to `s`, honouring backpressure. */
function pump(s: net.Socket, total: number, done: () => void): void {
  let left = total;
  const data = bulkChunk();
  const go = (): void => {
    while (left > 0) {
      const n = Math.min(left, data.length);
      left -= n;
      const ok = s.write(n === data.length ? data : data.subarray(0, n));
      if (!ok) {
        s.once('drain', go);
        return;
      }
    }
    done();
  };
  go();
}

/**
 * Where `d`, arriving at byte `at` of a transfer of `total` bytes, differs from what was sent (the
 * bulk chunk repeated): the transfer's offset of the first differing byte, `total` if every byte
 * up to the end was as sent but more came, or -1 if it is all as sent. A compare per
 * chunk-aligned piece: about the cost of a memcmp, so that a rate is only ever reported for bytes
 * that arrived intact.
 */
export function firstDifference(d: Buffer, at: number, total: number): number {
  const c = bulkChunk();
  const end = Math.min(d.length, total - at);
  for (let i = 0; i < end;) {
    const off = (at + i) % c.length;
    const n = Math.min(end - i, c.length - off);
    if (c.compare(d, i, i + n, off, off + n) !== 0) {
      for (let j = 0; j < n; j++) if (d[i + j] !== c[off + j]) return at + i + j;
    }
    i += n;
  }
  return d.length > end ? total : -1;
}

/**
 * Bulk target. Header: 'U' or 'D' + uint64 length. 'U': takes that many bytes, each checked
 * against what the client sends, then answers 'K' and ends — or, at the first byte that differs
 * (or one past the length), answers `E<offset>` followed by a newline and ends. 'D': sends that many bytes, then ends.
 */
export function startBulkServer(): Promise<Target> {
  return serve((s) => {
    let header = Buffer.alloc(0);
    let op = '';
    let want = 0;
    let got = 0;
    const onData = (d: Buffer): void => {
      if (!op) {
        header = Buffer.concat([header, d]);
        if (header.length < 9) return;
        op = String.fromCharCode(header[0]!);
        want = Number(header.readBigUInt64BE(1));
        d = header.subarray(9);
        if (op === 'D') {
          s.off('data', onData);
          s.resume();
          pump(s, want, () => s.end());
          return;
        }
      }
      const bad = firstDifference(d, got, want);
      got += d.length;
      if (bad >= 0) {
        s.off('data', onData);
        s.resume();
        s.end(`E${bad}\n`);
      } else if (got === want) {
        s.off('data', onData);
        s.end('K');
      }
    };
    s.on('data', onData);
  });
}

/** A server that speaks first (SMTP, MySQL, Redis-style greetings): one line on connect, then waits. */
export function startGreetingServer(): Promise<Target> {
  return serve((s) => {
    s.write('220 hello\r\n');
    s.resume();
    s.on('end', () => s.end());
  });
}

/** Connects and resolves the time (ms) from the TCP connect until the server's first byte arrives. */
export function firstByte(via: Via, timeoutMs = 10_000): Promise<number> {
  return new Promise((resolve, reject) => {
    let t0 = 0;
    const s = net.connect({ host: '127.0.0.1', port: via.port, noDelay: true }, () => { t0 = performance.now(); });
    const timer = setTimeout(() => { s.destroy(); reject(new Error('no greeting')); }, timeoutMs);
    s.on('error', (e) => { clearTimeout(timer); reject(e); });
    s.once('data', () => resolve(endOnFirstData(s, timer, t0)));
  });
}

/** The first byte is in: stop the timeout, close our side, and resolve the time since `t0`. */
function endOnFirstData(s: net.Socket, timer: NodeJS.Timeout, t0: number): number {
  clearTimeout(timer);
  const ms = performance.now() - t0;
  s.end();
  // Do not wait for the close to travel back; but never leave a socket behind.
  setTimeout(() => s.destroy(), 5000).unref();
  return ms;
}

/** Echoes every byte; ends when the client ends. */
export function startEchoServer(): Promise<Target> {
  return serve((s) => s.pipe(s));
}

export interface Via {
  port: number;
  /** When set, `port` is a SOCKS5 proxy and this is where to CONNECT through it. */
  socksTo?: { host: string; port: number };
}

/** Opens a TCP connection (through SOCKS5 when asked); resolves once application data may flow. */
export function open(via: Via, timeoutMs = 30_000): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port: via.port, noDelay: true });
    const timer = setTimeout(() => fail(new Error(`connect to ${via.port} timed out`)), timeoutMs);
    const fail = (err: Error): void => {
      clearTimeout(timer);
      s.destroy();
      reject(err);
    };
    s.once('error', fail);
    s.once('connect', () => {
      if (!via.socksTo) {
        clearTimeout(timer);
        s.off('error', fail);
        s.on('error', noop);
        resolve(s);
        return;
      }
      const to = via.socksTo;
      const host = to.host.split('.').map(Number);
      s.write(Buffer.from([5, 1, 0]));
      let buf = Buffer.alloc(0);
      let stage = 0;
      const onData = (d: Buffer): void => {
        buf = Buffer.concat([buf, d]);
        if (stage === 0) {
          if (buf.length < 2) return;
          if (buf[0] !== 5 || buf[1] !== 0) return fail(new Error('SOCKS5: no acceptable method'));
          buf = buf.subarray(2);
          stage = 1;
          s.write(Buffer.from([5, 1, 0, 1, ...host, (to.port >> 8) & 0xff, to.port & 0xff]));
        }
        if (stage === 1) {
          if (buf.length < 10) return;
          if (buf[1] !== 0) return fail(new Error(`SOCKS5: connect failed (${buf[1]})`));
          clearTimeout(timer);
          s.off('data', onData);
          s.off('error', fail);
          s.on('error', noop);
          s.pause();
          if (buf.length > 10) s.unshift(buf.subarray(10));
          resolve(s);
        }
      };
      s.on('data', onData);
    });
  });
}

export interface BulkResult {
  bytes: number;
  seconds: number;
  mbps: number;
}

function header(op: 'U' | 'D', bytes: number): Buffer {
  const h = Buffer.alloc(9);
  h[0] = op.charCodeAt(0);
  h.writeBigUInt64BE(BigInt(bytes), 1);
  return h;
}

/**
 * One bulk transfer through `via` to a bulk server: 'to' = client → target (upload), 'from' =
 * target → client (download). Time runs from the moment data may flow until the last byte is in.
 */
export async function bulk(via: Via, dir: 'to' | 'from', bytes: number, timeoutMs = 180_000): Promise<BulkResult> {
  const s = await open(via);
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const timer = setTimeout(() => finish(new Error(`bulk ${dir} timed out after ${timeoutMs} ms (${got} bytes)`)), timeoutMs);
    let got = 0;
    let settled = false;
    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const seconds = (performance.now() - t0) / 1000;
      s.destroy();
      if (err) reject(err);
      else resolve({ bytes, seconds, mbps: bytes / seconds / 1e6 });
    };
    s.on('close', () => finish(new Error(`connection closed early (${dir}, ${got} of ${bytes} bytes)`)));
    const changed = (offset: number): Error => new Error(`bulk ${dir}: the byte at offset ${offset} of ${bytes} is not the one sent (changed, lost, or one too many)`);
    if (dir === 'to') {
      let reply = '';
      s.setEncoding('latin1');
      s.on('data', (d: string) => {
        reply += d;
        if (reply.startsWith('K')) finish();
        else if (reply.startsWith('E') && reply.endsWith('\n')) finish(changed(Number(reply.slice(1, -1))));
        else if (!/^E\d*$/.test(reply)) finish(new Error(`bulk ${dir}: the target answered ${JSON.stringify(reply.slice(0, 40))}`));
      });
      s.write(header('U', bytes));
      pump(s, bytes, noop);
    } else {
      s.on('data', (d: Buffer) => {
        const bad = firstDifference(d, got, bytes);
        got += d.length;
        if (bad >= 0) finish(changed(bad));
        else if (got === bytes) finish();
      });
      s.write(header('D', bytes));
    }
    s.resume();
  });
}

/** One short connection: open, send one byte, wait for its echo, close. Resolves the latency (ms). */
export function echoOnce(via: Via, timeoutMs = 10_000): Promise<number> {
  const t0 = performance.now();
  return open(via, timeoutMs).then((s) => new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => { s.destroy(); reject(new Error('echo timed out')); }, timeoutMs);
    s.once('data', () => resolve(endOnFirstData(s, timer, t0)));
    s.once('close', () => { clearTimeout(timer); reject(new Error('closed before echo')); });
    s.write('x');
    s.resume();
  }));
}

export interface ShortResult {
  connections: number;
  failures: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p99: number;
  max: number;
  /** Connections slower than 40 ms. */
  slow: number;
  latencies: number[];
}

/** Short connections one after the other on `parallel` lanes, until `maxConnections` or `maxMs`. */
export async function shortConnections(via: Via, parallel: number, maxConnections: number, maxMs: number): Promise<ShortResult> {
  const latencies: number[] = [];
  let started = 0;
  let failures = 0;
  const t0 = performance.now();
  const lane = async (): Promise<void> => {
    while (started < maxConnections && performance.now() - t0 < maxMs) {
      started++;
      try {
        latencies.push(await echoOnce(via));
      } catch {
        failures++;
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, lane));
  const seconds = (performance.now() - t0) / 1000;
  const sorted = [...latencies].sort((a, b) => a - b);
  const pct = (p: number): number => sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! : NaN;
  return {
    connections: latencies.length,
    failures,
    seconds,
    perSecond: latencies.length / seconds,
    p50: pct(50),
    p99: pct(99),
    max: sorted.length ? sorted[sorted.length - 1]! : NaN,
    slow: latencies.filter((l) => l > 40).length,
    latencies: [],
  };
}

export interface BurstResult {
  connections: number;
  echoed: number;
  failures: number;
  /** Why connections failed: error code, 'closed' (before the echo) or 'timeout'. */
  reasons: Record<string, number>;
  /** From the first connect() until the last echo arrived, seconds. */
  seconds: number;
  /**
   * Echoed connections that waited ≥ 0.9 s — the kernel's retransmit timers (1 s, then 2 s more),
   * not forwarding: `connect`, for the connection to be established (a SYN dropped at a full
   * accept queue, sent again); `echo`, between being connected and the echo (the handshake's last
   * ACK dropped at a full accept queue: the server sends its SYN-ACK again before it accepts).
   */
  waited: { connect: number; echo: number };
}

/** Linux retransmits a SYN or SYN-ACK after 1 s first: a wait this long is a retransmit, not forwarding. */
const RETRANSMIT_WAIT_MS = 900;

/** `n` connections at once, each sends one byte and waits for the echo; all are held until the end. */
export async function concurrentEcho(via: Via, n: number, timeoutMs = 30_000): Promise<BurstResult> {
  const sockets: net.Socket[] = [];
  let echoed = 0;
  let failures = 0;
  let last = 0;
  const reasons: Record<string, number> = {};
  const t0 = performance.now();
  const waited = { connect: 0, echo: 0 };
  await Promise.all(Array.from({ length: n }, () => new Promise<void>((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port: via.port, noDelay: true });
    let tc = 0;
    sockets.push(s);
    let done = false;
    const end = (why?: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (!why) {
        echoed++;
        last = performance.now();
        if (tc - t0 >= RETRANSMIT_WAIT_MS) waited.connect++;
        if (last - tc >= RETRANSMIT_WAIT_MS) waited.echo++;
      } else {
        failures++;
        reasons[why] = (reasons[why] ?? 0) + 1;
      }
      resolve();
    };
    const timer = setTimeout(() => end('timeout'), timeoutMs);
    s.on('error', (e: NodeJS.ErrnoException) => end(e.code ?? 'error'));
    s.on('close', () => end('closed'));
    s.on('connect', () => { tc = performance.now(); s.write('x'); });
    s.on('data', () => end());
  })));
  for (const s of sockets) s.destroy();
  return { connections: n, echoed, failures, reasons, seconds: ((echoed ? last : performance.now()) - t0) / 1000, waited };
}
