/**
 * The server side of a SOCKS handshake for -D: SOCKS5 (RFC 1928: no-auth, CONNECT, IPv4, IPv6 and
 * domain names) and SOCKS4/4a, as OpenSSH's -D speaks them. Hand-written because it is small and
 * the npm SOCKS servers either pull in much more or need patching of their internals; the
 * destination is resolved by the SSH server, like OpenSSH does.
 */
import type { Duplex } from 'node:stream';
import { HandleSocket } from './handleSocket';

/** Where a SOCKS client is: a stream (-D's net.Socket fallback, remote SOCKS's channel) or -D's TCP handle. */
export type SocksClientSocket = Duplex | HandleSocket;

export interface SocksRequest {
  version: 4 | 5;
  host: string;
  port: number;
  /** Answers the client: success lets data flow, failure closes the connection. */
  reply(ok: boolean, failure?: SocksFailure): void;
}

/** SOCKS5 reply codes we use (SOCKS4 has only "rejected"). */
export type SocksFailure = 'general' | 'not-allowed' | 'host-unreachable' | 'refused' | 'command' | 'address-type';
const SOCKS5_REPLY: Record<SocksFailure, number> = {
  general: 1,
  'not-allowed': 2,
  'host-unreachable': 4,
  refused: 5,
  command: 7,
  'address-type': 8,
};

export class SocksError extends Error {}

const MAX_NAME = 255;

/** What the handshake needs of the client's connection, whichever kind it is. */
interface Conversation {
  write(b: Buffer): void;
  /** Sends `b`, then closes our sending side. */
  end(b: Buffer): void;
  /** Stops delivering to the handshake and gives back what it read past its part. */
  release(rest: Buffer): void;
}

const ignore = (): void => undefined;

function converse(socket: SocksClientSocket, onData: (chunk: Buffer) => void, onEnd: () => void): Conversation {
  if (socket instanceof HandleSocket) {
    socket.onData = onData;
    socket.onEnd = onEnd;
    socket.onClose = onEnd;
    return {
      write: (b) => void socket.write(b),
      end: (b) => {
        socket.write(b);
        socket.end();
      },
      release: (rest) => {
        socket.pause();
        socket.onData = ignore;
        socket.onEnd = ignore;
        socket.onClose = ignore;
        socket.unshift(rest);
      },
    };
  }
  socket.on('data', onData);
  socket.on('end', onEnd);
  socket.on('close', onEnd);
  return {
    write: (b) => void socket.write(b),
    end: (b) => void socket.end(b),
    release: (rest) => {
      socket.pause();
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      if (rest.length) socket.unshift(rest);
    },
  };
}

/** Buffers a paused socket's bytes so the handshake can read exact lengths. */
class Reader {
  private buf: Buffer = Buffer.alloc(0);
  private waiter: (() => void) | undefined;
  private ended = false;
  readonly client: Conversation;

  constructor(socket: SocksClientSocket) {
    this.client = converse(socket, (chunk) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
      this.waiter?.();
    }, () => {
      this.ended = true;
      this.waiter?.();
    });
  }

  async take(n: number): Promise<Buffer> {
    while (this.buf.length < n) {
      if (this.ended) throw new SocksError('client closed the connection during the SOCKS handshake');
      await new Promise<void>((resolve) => { this.waiter = resolve; });
      this.waiter = undefined;
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** Reads up to a NUL byte (SOCKS4 user id and 4a host name). */
  async takeCString(): Promise<string> {
    for (;;) {
      const nul = this.buf.indexOf(0);
      if (nul >= 0) return (await this.take(nul + 1)).subarray(0, nul).toString('latin1');
      if (this.buf.length > MAX_NAME) throw new SocksError('SOCKS4 field too long');
      if (this.ended) throw new SocksError('client closed the connection during the SOCKS handshake');
      await new Promise<void>((resolve) => { this.waiter = resolve; });
      this.waiter = undefined;
    }
  }

  /** Stops reading; bytes read past the handshake go back to the socket for the tunnel. */
  release(): void {
    this.client.release(this.buf);
  }
}

function ipv6(bytes: Buffer): string {
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push(bytes.readUInt16BE(i).toString(16));
  return parts.join(':');
}

async function socks5(reader: Reader): Promise<SocksRequest> {
  const client = reader.client;
  const [nMethods] = await reader.take(1);
  const methods = await reader.take(nMethods);
  if (!methods.includes(0)) {
    client.end(Buffer.from([5, 0xff]));
    throw new SocksError('SOCKS5 client offered no method we accept (only "no authentication" is supported)');
  }
  client.write(Buffer.from([5, 0]));
  const [ver, cmd, , atyp] = await reader.take(4);
  if (ver !== 5) throw new SocksError(`SOCKS5 request with version ${ver}`);
  let host: string;
  if (atyp === 1) host = [...(await reader.take(4))].join('.');
  else if (atyp === 3) host = (await reader.take((await reader.take(1))[0])).toString('latin1');
  else if (atyp === 4) host = ipv6(await reader.take(16));
  else {
    client.end(Buffer.from([5, SOCKS5_REPLY['address-type'], 0, 1, 0, 0, 0, 0, 0, 0]));
    throw new SocksError(`SOCKS5 address type ${atyp} is not supported`);
  }
  const port = (await reader.take(2)).readUInt16BE(0);
  if (cmd !== 1) {
    client.end(Buffer.from([5, SOCKS5_REPLY.command, 0, 1, 0, 0, 0, 0, 0, 0]));
    throw new SocksError(`SOCKS5 command ${cmd} is not supported (only CONNECT)`);
  }
  return {
    version: 5,
    host,
    port,
    reply(ok, failure = 'general') {
      const code = ok ? 0 : SOCKS5_REPLY[failure];
      const msg = Buffer.from([5, code, 0, 1, 0, 0, 0, 0, 0, 0]);
      if (ok) client.write(msg);
      else client.end(msg);
    },
  };
}

async function socks4(reader: Reader): Promise<SocksRequest> {
  const client = reader.client;
  const head = await reader.take(7);
  const cmd = head[0];
  const port = head.readUInt16BE(1);
  const ip = head.subarray(3, 7);
  await reader.takeCString(); // user id, ignored as OpenSSH does
  let host = [...ip].join('.');
  if (ip[0] === 0 && ip[1] === 0 && ip[2] === 0 && ip[3] !== 0) host = await reader.takeCString(); // 4a
  const answer = (granted: boolean): Buffer => Buffer.from([0, granted ? 0x5a : 0x5b, 0, 0, 0, 0, 0, 0]);
  if (cmd !== 1) {
    client.end(answer(false));
    throw new SocksError(`SOCKS4 command ${cmd} is not supported (only CONNECT)`);
  }
  return {
    version: 4,
    host,
    port,
    reply(ok) {
      if (ok) client.write(answer(true));
      else client.end(answer(false));
    },
  };
}

/**
 * Reads one SOCKS request from a fresh client (-D's accepted connection, on its TCP handle or as a
 * net.Socket; remote SOCKS's SSH channel); throws SocksError on anything else. The client is left
 * paused, with what it sent after its request given back for the tunnel.
 */
export async function readSocksRequest(socket: SocksClientSocket): Promise<SocksRequest> {
  const reader = new Reader(socket);
  try {
    const [version] = await reader.take(1);
    if (version === 5) return await socks5(reader);
    if (version === 4) return await socks4(reader);
    throw new SocksError(`not a SOCKS client (first byte 0x${version.toString(16).padStart(2, '0')}); point a SOCKS4/5 client at this port, not HTTP`);
  } finally {
    reader.release();
  }
}
