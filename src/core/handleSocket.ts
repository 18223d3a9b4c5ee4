/**
 * A connection -L or -D accepted, or one -R opened to its target, driven through its libuv TCP handle
 * instead of a net.Socket.
 *
 * A net.Socket is two stream state machines (readable and writable), an event emitter, and a
 * `pipe()` to the channel with listeners of its own; for a short connection — open, a few bytes,
 * close — building and tearing that down is most of what Node costs per connection. Measured on
 * a bare TCP echo server (accept, echo one byte, close): 0.16 CPU ms per connection through net,
 * 0.09 through the handle; on a bare ssh2 -L forwarder 0.41 → 0.31 (bench/README.md change 29).
 * What a forwarded connection needs from its socket is small: read into a buffer, write with
 * backpressure, half-close each way, close, and its peer's address.
 *
 * The handle is the one Node's net.Server accepted (`acceptHandles`), or one of our own connected
 * with Node's TCP and TCPConnectWrap from `process.binding('tcp_wrap')` (`connectHandle`, for -R's
 * targets, change 30); the requests are Node's own WriteWrap and ShutdownWrap from
 * `process.binding('stream_wrap')`. Node documents `process.binding` as deprecated (DEP0111,
 * documentation-only) and still has both — tested on Node 20 and 24 (code-server's).
 * `handleSockets()` returns undefined (and `handleConnects()` false) if any part is missing or not
 * as expected; the forward then uses net.Sockets as before. These are C++ methods with Node's own
 * rules, and breaking one aborts the process rather than throwing: `onread` must always be a
 * function, each call is made only while the handle is open, and a write's buffer is kept alive by
 * its request until libuv has written it (test/integration/acceptedHandles.test.ts).
 *
 * Reads land in the shared 1 MiB buffer (reusedReads.ts) and are copied at their size (a channel
 * write beyond its window keeps the rest of the chunk), as every local socket of the engine reads.
 */
import * as dns from 'node:dns';
import { isIP, type Server } from 'node:net';
import { getSystemErrorName } from 'node:util';
import { sharedReadBuffer } from './reusedReads';

/** libuv's end of stream (UV_EOF); other negative read results are errors. */
const UV_EOF = -4095;
/**
 * write() returns false (and the channel pauses) once this much is queued behind what the kernel
 * took: net.Socket's default on Node 22 and later (16 KiB on Node 20; bulk -L the same either way).
 */
const HIGH_WATER_MARK = 64 * 1024;

/** The methods of Node's LibuvStreamWrap / TCPWrap this uses. */
export interface TcpHandle {
  readStart(): number;
  readStop(): number;
  writeBuffer(req: object, data: Uint8Array): number;
  /** `allBuffers`: every chunk is a Buffer (no strings). */
  writev(req: object, chunks: Uint8Array[], allBuffers: true): number;
  shutdown(req: object): number;
  close(callback?: () => void): void;
  setNoDelay(enable: boolean): number;
  getpeername(out: { address?: string; port?: number }): number;
  useUserBuffer(buffer: Uint8Array): void;
  onread: (arrayBuffer?: ArrayBuffer) => void;
  readonly writeQueueSize: number;
}

/** A request object: Node's C++ calls its `oncomplete`; `buffer` keeps a write's bytes alive. */
interface Req { oncomplete?: (status: number) => void; buffer?: Uint8Array | Uint8Array[] }
interface StreamWrap {
  WriteWrap: new () => Req;
  ShutdownWrap: new () => Req;
  streamBaseState: Int32Array;
  kReadBytesOrError: number;
}

const ignoreRead = (): void => undefined;

const bindings = new Map<string, unknown>();

/**
 * `process.binding(name)` once per process, if it is there and `looksRight` says it has what we
 * use; otherwise (and from then on) undefined.
 */
function binding<T>(name: string, looksRight: (b: Partial<T>) => boolean): T | undefined {
  if (!bindings.has(name)) {
    let found: T | undefined;
    try {
      const get = (process as unknown as { binding?: (name: string) => Partial<T> }).binding;
      const b = typeof get === 'function' ? get.call(process, name) : undefined;
      if (b && looksRight(b)) found = b as T;
    } catch {
      // Not there (or it threw while we looked): undefined.
    }
    bindings.set(name, found);
  }
  return bindings.get(name) as T | undefined;
}

/** Node's stream requests, or undefined where this Node does not have them as expected. */
export function handleSockets(): StreamWrap | undefined {
  return binding<StreamWrap>('stream_wrap', (s) => typeof s.WriteWrap === 'function' && typeof s.ShutdownWrap === 'function' &&
    s.streamBaseState instanceof Int32Array && typeof s.kReadBytesOrError === 'number');
}

/** Node's tcp_wrap binding: a TCP handle of our own and its connect request. */
interface TcpWrap {
  TCP: new (type: number) => unknown;
  TCPConnectWrap: new () => { oncomplete?: (status: number) => void };
  constants: { SOCKET: number };
}
interface ConnectingHandle extends TcpHandle {
  connect(req: object, address: string, port: number): number;
  connect6(req: object, address: string, port: number): number;
}

function tcpWrap(): TcpWrap | undefined {
  return binding<TcpWrap>('tcp_wrap', (t) => typeof t.TCP === 'function' && typeof t.TCPConnectWrap === 'function' &&
    typeof t.constants?.SOCKET === 'number');
}

/** Set once a TCP handle of our own turned out not to be what this drives: connect as Node does from then on. */
let ownHandlesUnexpected = false;

/** Whether this Node lets `connectHandle` open connections of its own through TCP handles. */
export function handleConnects(): boolean {
  return !ownHandlesUnexpected && handleSockets() !== undefined && tcpWrap() !== undefined;
}

const isLoopback = (a: dns.LookupAddress): boolean => (a.family === 4 ? a.address.startsWith('127.') : a.address === '::1');

/**
 * Opens a connection to `host` port `port` on a TCP handle of our own, for -R's targets: an IP
 * address, or a name that resolves to loopback addresses only (`localhost`), tried in the
 * resolver's order until one accepts, within `timeoutMs` in all. Undefined where this Node does
 * not allow it (its TCP handle not what this drives: from then on for every target) or the name is
 * any other: a name that may resolve to remote addresses is left to
 * net.connect, whose Happy Eyeballs does not wait on an address that never answers. Rejects with
 * Node's wording (`connect ECONNREFUSED 127.0.0.1:8080`).
 */
export async function connectHandle(host: string, port: number, timeoutMs: number): Promise<HandleSocket | undefined> {
  const wrap = handleSockets();
  const tcp = tcpWrap();
  if (!wrap || !tcp || ownHandlesUnexpected) return undefined;
  let addresses: dns.LookupAddress[];
  const family = isIP(host);
  if (family !== 0) {
    addresses = [{ address: host, family }];
  } else if (host.toLowerCase() === 'localhost') {
    addresses = await dns.promises.lookup(host, { all: true }).catch(() => []);
    if (addresses.length === 0 || !addresses.every(isLoopback)) return undefined;
  } else {
    return undefined;
  }
  const deadline = Date.now() + timeoutMs;
  const errors: string[] = [];
  for (const a of addresses) {
    try {
      // Undefined only when the handle is not as expected: the caller falls back to net.connect.
      return await connectOne(wrap, tcp, a, port, deadline - Date.now());
    } catch (err) {
      errors.push((err as Error).message);
      if (Date.now() >= deadline) break;
    }
  }
  throw new Error(errors.join('; '));
}

function connectOne(wrap: StreamWrap, tcp: TcpWrap, to: dns.LookupAddress, port: number, timeoutMs: number): Promise<HandleSocket | undefined> {
  return new Promise((resolve, reject) => {
    const handle = new tcp.TCP(tcp.constants.SOCKET) as ConnectingHandle;
    if (!isTcpHandle(handle) || typeof handle.connect !== 'function' || typeof handle.connect6 !== 'function') {
      ownHandlesUnexpected = true;
      const close = (handle as { close?: unknown }).close;
      if (typeof close === 'function') close.call(handle);
      resolve(undefined);
      return;
    }
    // Node's handle takes only a function here, from the start (anything else aborts the process).
    handle.onread = ignoreRead;
    let settled = false;
    const fail = (message: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      handle.close();
      reject(new Error(message));
    };
    const timer = setTimeout(() => fail(`connect ETIMEDOUT ${to.address}:${port}`), Math.max(timeoutMs, 0));
    const req = new tcp.TCPConnectWrap();
    req.oncomplete = (status: number): void => {
      if (settled) return;
      if (status < 0) return fail(`connect ${getSystemErrorName(status)} ${to.address}:${port}`);
      settled = true;
      clearTimeout(timer);
      try {
        resolve(new HandleSocket(handle, wrap));
      } catch (err) {
        handle.close();
        reject(err as Error);
      }
    };
    const err = to.family === 6 ? handle.connect6(req, to.address, port) : handle.connect(req, to.address, port);
    if (err) fail(`connect ${getSystemErrorName(err)} ${to.address}:${port}`);
  });
}

/** Whether an object Node's net.Server handed to `onconnection` looks like the handle this drives. */
function isTcpHandle(h: unknown): h is TcpHandle {
  const o = h as Partial<Record<keyof TcpHandle, unknown>> | null;
  return typeof o === 'object' && o !== null && typeof o.readStart === 'function' && typeof o.readStop === 'function' &&
    typeof o.writeBuffer === 'function' && typeof o.writev === 'function' && typeof o.shutdown === 'function' && typeof o.close === 'function' &&
    typeof o.useUserBuffer === 'function' && typeof o.getpeername === 'function' && typeof o.writeQueueSize === 'number';
}

/**
 * Makes `server` hand each connection it accepts to `onSocket` as a HandleSocket: takes over its
 * listening handle's `onconnection`, where net.Server makes a net.Socket of each accepted handle.
 * Anything unexpected there — an accept error, an object that is not the handle we know — goes to
 * Node's own as before. Call once `server` listens. False, and nothing changed, where this Node
 * does not allow it: the server then emits 'connection' with net.Sockets as usual.
 */
export function acceptHandles(server: Server, onSocket: (socket: HandleSocket) => void): boolean {
  const wrap = handleSockets();
  const listening = (server as unknown as { _handle?: { onconnection?: unknown } | null })._handle;
  const nodeOnConnection = listening?.onconnection;
  if (!wrap || !listening || typeof nodeOnConnection !== 'function') return false;
  listening.onconnection = (err: number, clientHandle: unknown): void => {
    if (err || !isTcpHandle(clientHandle)) return void nodeOnConnection.call(listening, err, clientHandle);
    let socket: HandleSocket;
    try {
      socket = new HandleSocket(clientHandle, wrap);
    } catch {
      return clientHandle.close();
    }
    onSocket(socket);
  };
  return true;
}

export class HandleSocket {
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  /** Each chunk read (a copy, the caller's to keep). */
  onData: (chunk: Buffer) => void = () => undefined;
  /** The peer finished sending (its FIN). */
  onEnd: () => void = () => undefined;
  /** write() returned false and the queue has emptied since. */
  onDrain: () => void = () => undefined;
  /** Once, when the handle is closed: after destroy(), an error, or both directions ended. */
  onClose: () => void = () => undefined;

  private closed = false;
  private reading = false;
  private readEnded = false;
  private writeEnded = false;
  private shutDown = false;
  private needDrain = false;
  /** Given back by `unshift`: read before the caller took over, delivered first on resume(). */
  private held: Buffer | undefined;
  /** Written since the last flush: they go to the kernel together once this run of JavaScript ends. */
  private pending: Buffer[] = [];

  constructor(private readonly handle: TcpHandle, private readonly wrap: StreamWrap) {
    handle.setNoDelay(true);
    const peer: { address?: string; port?: number } = {};
    if (handle.getpeername(peer) === 0) {
      this.remoteAddress = peer.address;
      this.remotePort = peer.port;
    }
    handle.onread = this.onRead;
    handle.useUserBuffer(sharedReadBuffer());
  }

  get destroyed(): boolean {
    return this.closed;
  }

  /** Starts (or resumes) reading; what `unshift` gave back comes first. */
  resume(): void {
    if (this.closed || this.reading) return;
    if (this.held) {
      const held = this.held;
      this.held = undefined;
      // onData may pause again (the channel is full): then reading starts at the next resume().
      this.reading = true;
      this.onData(held);
      if (this.closed || !this.reading) return;
      this.reading = false;
    }
    if (this.readEnded) return;
    const err = this.handle.readStart();
    if (err) return this.destroy();
    this.reading = true;
  }

  pause(): void {
    if (this.closed || !this.reading) return;
    this.reading = false;
    this.handle.readStop();
  }

  /**
   * Gives back what a first reader (the SOCKS handshake of -D) read past its part: the next reader
   * gets it first when it resumes. Call while paused. (The peer's end cannot have been read with
   * it: a reader that has what it needs pauses before libuv reads again.)
   */
  unshift(rest: Buffer): void {
    if (rest.length) this.held = this.held ? Buffer.concat([rest, this.held]) : rest;
  }

  /**
   * Queues `chunk`; false when the caller should wait for onDrain before writing more. Chunks
   * written in one run of JavaScript (the channel packets ssh2 parses out of one read of the SSH
   * socket) go to the kernel together in one writev once it ends, as OpenSSH's client writes a
   * channel's output once per loop instead of once per packet.
   */
  write(chunk: Buffer): boolean {
    if (this.closed || this.writeEnded) return false;
    if (this.pending.length === 0) queueMicrotask(this.flush);
    this.pending.push(chunk);
    if (this.handle.writeQueueSize < HIGH_WATER_MARK) return true;
    this.needDrain = true;
    return false;
  }

  /** Hands what write() queued to the kernel; libuv keeps what it did not take. */
  private readonly flush = (): void => {
    const chunks = this.pending;
    if (chunks.length === 0 || this.closed) return;
    this.pending = [];
    const req = new this.wrap.WriteWrap();
    req.oncomplete = this.afterWrite;
    const err = chunks.length === 1 ? this.handle.writeBuffer(req, chunks[0]!) : this.handle.writev(req, chunks, true);
    if (err) return this.destroy();
    // What the kernel did not take at once is written from the chunks later: keep them alive until
    // then (libuv holds pointers into them, not references V8's collector sees). write() returned
    // false only with bytes already queued in libuv; these queue behind them, so a completion
    // comes, and afterWrite says when the queue has emptied.
    req.buffer = chunks;
  };

  /** Half-closes: FIN once what was written has gone; reading goes on. */
  end(): void {
    if (this.closed || this.writeEnded) return;
    this.flush();
    if (this.closed) return;
    this.writeEnded = true;
    const req = new this.wrap.ShutdownWrap();
    req.oncomplete = this.afterShutdown;
    if (this.handle.shutdown(req)) this.destroy();
  }

  /** Closes the connection now (unsent bytes are dropped). */
  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.reading = false;
    this.pending = [];
    // Node's handle takes only a function here (anything else aborts the process).
    this.handle.onread = ignoreRead;
    this.handle.close(() => this.onClose());
  }

  private readonly onRead = (): void => {
    const n = this.wrap.streamBaseState[this.wrap.kReadBytesOrError]!;
    if (n > 0) {
      this.onData(Buffer.from(sharedReadBuffer().subarray(0, n)));
    } else if (n === UV_EOF) {
      this.pause();
      this.readEnded = true;
      this.onEnd();
      if (this.shutDown) this.destroy();
    } else if (n < 0) {
      this.destroy();
    }
  };

  private readonly afterWrite = (status: number): void => {
    if (this.closed) return;
    if (status < 0) return this.destroy();
    if (this.needDrain && this.handle.writeQueueSize === 0) {
      this.needDrain = false;
      this.onDrain();
    }
  };

  private readonly afterShutdown = (status: number): void => {
    if (this.closed) return;
    this.shutDown = true;
    if (status < 0 || this.readEnded) this.destroy();
  };
}
