/**
 * Helpers shared by the fault-injection suites: end-to-end transfers checked by SHA-256 at both
 * ends, through -L, -R and -D; and counters of what a process holds (fds, active handles,
 * listening sockets) to prove nothing is left behind.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import type { ForwardSnapshot } from '../../src/core/model';
import type { TunnelManager } from '../../src/core/tunnelManager';
import { socksConnect, type TestServer } from '../fixtures/servers';

export const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function sha256hex(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

// ------------------------------------------------------------------ hashing servers

/**
 * Reads everything a connection sends until it half-closes, then answers `<sha256 hex> <bytes>\n`
 * (the digest as computed at the far end) and closes.
 */
export async function startHashSink(): Promise<TestServer> {
  return hashServer((s) => {
    const hash = createHash('sha256');
    let bytes = 0;
    s.on('data', (d: Buffer) => { bytes += d.length; hash.update(d); });
    s.on('end', () => s.end(`${hash.digest('hex')} ${bytes}\n`));
  });
}

/**
 * Reads a 4-byte big-endian size, then sends the 32-byte SHA-256 of a fresh random payload of that
 * size followed by the payload, and closes.
 */
export async function startHashSource(): Promise<TestServer> {
  return hashServer((s) => {
    let head = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      head = Buffer.concat([head, d]);
      if (head.length < 4) return;
      s.off('data', onData);
      s.resume();
      const size = head.readUInt32BE(0);
      const payload = randomBytes(size);
      s.write(createHash('sha256').update(payload).digest());
      s.end(payload);
    };
    s.on('data', onData);
  });
}

async function hashServer(onSocket: (s: net.Socket) => void): Promise<TestServer> {
  const sockets = new Set<net.Socket>();
  let count = 0;
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    count++;
    sockets.add(s);
    s.on('error', () => s.destroy());
    s.on('close', () => sockets.delete(s));
    onSocket(s);
  });
  server.maxConnections = 5000;
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, backlog: 2048 }, () => resolve((server.address() as net.AddressInfo).port));
  });
  let closing: Promise<void> | undefined;
  return {
    host: '127.0.0.1',
    port,
    get connectionCount() { return count; },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      return closing;
    },
  };
}

// ------------------------------------------------------------------ clients

export type Via = { kind: 'L' | 'R'; port: number } | { kind: 'D'; port: number };

/** Opens a connection to `target` through a forward (for -D with a SOCKS5 handshake). */
export async function openVia(via: Via, target: TestServer, timeoutMs = 30_000): Promise<net.Socket> {
  if (via.kind === 'D') return socksConnect(via.port, '127.0.0.1', target.port, 5, '127.0.0.1', timeoutMs);
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port: via.port, allowHalfOpen: true });
    s.once('connect', () => { s.off('error', reject); resolve(s); });
    s.once('error', reject);
  });
}

function collect(s: net.Socket, timeoutMs: number, what: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`${what}: timed out after ${timeoutMs} ms (${Buffer.concat(chunks).length} bytes received)`)); }, timeoutMs);
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', (e) => { clearTimeout(timer); reject(new Error(`${what}: ${e.message}`)); });
    s.on('end', () => { clearTimeout(timer); s.end(); resolve(Buffer.concat(chunks)); });
    s.on('close', () => { clearTimeout(timer); resolve(Buffer.concat(chunks)); });
  });
}

export interface TransferResult {
  /** Bytes of payload compared by SHA-256 at both ends. */
  bytes: number;
  ok: boolean;
  problem?: string;
}

/** Sends `size` random bytes to a hash sink through `via`; compares the sink's digest with ours. */
export async function upload(via: Via, sink: TestServer, size: number, timeoutMs = 60_000): Promise<TransferResult> {
  const data = randomBytes(size);
  const s = await openVia(via, sink, timeoutMs);
  const reply = collect(s, timeoutMs, `upload ${size} B via -${via.kind} ${via.port}`);
  s.end(data);
  const text = (await reply).toString('latin1').trim();
  const [digest, bytes] = text.split(' ');
  if (Number(bytes) !== size) return { bytes: size, ok: false, problem: `sink got ${bytes ?? 'nothing'} of ${size} bytes ("${text.slice(0, 80)}")` };
  if (digest !== sha256hex(data)) return { bytes: size, ok: false, problem: `SHA-256 differs for ${size} bytes` };
  return { bytes: size, ok: true };
}

/** Asks a hash source for `size` bytes through `via`; compares the source's digest with ours. */
export async function download(via: Via, source: TestServer, size: number, timeoutMs = 60_000): Promise<TransferResult> {
  const s = await openVia(via, source, timeoutMs);
  const reply = collect(s, timeoutMs, `download ${size} B via -${via.kind} ${via.port}`);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(size, 0);
  s.write(head);
  const all = await reply;
  if (all.length < 32) return { bytes: size, ok: false, problem: `got ${all.length} bytes, not even the digest` };
  const digest = all.subarray(0, 32).toString('hex');
  const data = all.subarray(32);
  if (data.length !== size) return { bytes: size, ok: false, problem: `got ${data.length} of ${size} bytes` };
  if (digest !== sha256hex(data)) return { bytes: size, ok: false, problem: `SHA-256 differs for ${size} bytes` };
  return { bytes: size, ok: true };
}

/** An echo round trip of `size` random bytes; returns the bytes compared (0 when it failed). */
export async function echoCheck(via: Via, echo: TestServer, size: number, timeoutMs = 30_000): Promise<number> {
  const data = randomBytes(size);
  const s = await openVia(via, echo, timeoutMs);
  const reply = collect(s, timeoutMs, `echo ${size} B via -${via.kind} ${via.port}`);
  s.end(data);
  const back = await reply;
  assert.equal(back.length, size, `echo via -${via.kind} ${via.port}: ${back.length} of ${size} bytes came back`);
  assert.equal(sha256hex(back), sha256hex(data), `echo via -${via.kind} ${via.port}: SHA-256 differs`);
  return size;
}

// ------------------------------------------------------------------ engine state

export function forwardsIn(manager: TunnelManager, ids: string[]): ForwardSnapshot[] {
  return ids.map((id) => manager.forwardSnapshot(id));
}

export function viaOf(f: ForwardSnapshot): Via {
  const kind = f.kind === 'local' ? 'L' : f.kind === 'remote' ? 'R' : 'D';
  return { kind, port: f.listenPort ?? f.spec.bindPort };
}

// ------------------------------------------------------------------ what the process holds

export function fdCount(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

export function activeResources(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) out[r] = (out[r] ?? 0) + 1;
  return out;
}

/** Resource types whose count grew from `before` to `after`, as `type +n`. */
export function grownResources(before: Record<string, number>, after: Record<string, number>): string[] {
  const grown: string[] = [];
  for (const [k, v] of Object.entries(after)) if (v > (before[k] ?? 0)) grown.push(`${k} +${v - (before[k] ?? 0)}`);
  return grown;
}

/** Local addresses (as `addr:port`, IPv6 in brackets) with a socket LISTENing on `port`. */
export function listeningAddresses(port: number): string[] {
  const out: string[] = [];
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const [file, v6] of [['/proc/net/tcp', false], ['/proc/net/tcp6', true]] as const) {
    let text: string;
    try { text = fs.readFileSync(file, 'utf8'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] !== '0A' || !cols[1]?.endsWith(':' + hexPort)) continue;
      const hex = cols[1].split(':')[0];
      out.push(v6 ? `[${decodeV6(hex)}]:${port}` : `${decodeV4(hex)}:${port}`);
    }
  }
  return out;
}

function decodeV4(hex: string): string {
  const n = Buffer.from(hex, 'hex');
  return [n[3], n[2], n[1], n[0]].join('.');
}

function decodeV6(hex: string): string {
  const b = Buffer.from(hex, 'hex');
  // /proc stores each 32-bit word in host (little-endian) order.
  for (let i = 0; i < 16; i += 4) b.subarray(i, i + 4).reverse();
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  return groups.join(':');
}

/** Whether a listening address (from listeningAddresses) is loopback only. */
export function isLoopbackListen(addr: string): boolean {
  if (addr.startsWith('127.')) return true;
  if (addr.startsWith('[0:0:0:0:0:0:0:1]')) return true;
  return /^\[0:0:0:0:0:ffff:7f/.test(addr);
}

/** Every TCP socket (any state) whose local or remote port is `port`, from /proc/net/tcp{,6}. */
export function socketsOnPort(port: number): number {
  const hexPort = ':' + port.toString(16).toUpperCase().padStart(4, '0');
  let n = 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try { text = fs.readFileSync(file, 'utf8'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // 06 TIME_WAIT holds no descriptor; everything else is a live socket.
      if (cols[3] === '06') continue;
      if (cols[1]?.endsWith(hexPort) || cols[2]?.endsWith(hexPort)) n++;
    }
  }
  return n;
}

/** Random sizes from 1 B to `max`, log-uniform (mostly small, some large), with both ends included. */
export function skewedSizes(count: number, max: number, rand: () => number = Math.random): number[] {
  const sizes: number[] = [];
  const lnMax = Math.log(max);
  for (let i = 0; i < count; i++) sizes.push(Math.max(1, Math.min(max, Math.floor(Math.exp(rand() * lnMax)))));
  if (count >= 2) {
    sizes[0] = 1;
    sizes[1] = max;
  }
  return sizes;
}

/** A small seeded PRNG (mulberry32) so a failing run can be repeated with FAULTS_SEED. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Runs `work` over `items` with at most `limit` at once. */
export async function pool<T, R>(items: T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      results[i] = await work(items[i], i);
    }
  });
  await Promise.all(runners);
  return results;
}
