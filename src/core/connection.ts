/**
 * One connection carried through a forward: a TCP socket on our side joined to an SSH channel,
 * piped both ways with backpressure and half-close, counted, and torn down on either side's error
 * or close. The `~#` list of the UI is made of these.
 */
import type { Socket } from 'node:net';
import type { ClientChannel } from 'ssh2';
import { HandleSocket } from './handleSocket';
import type { ConnectionSnapshot } from './model';

let nextId = 1;
/** How long a socket may stay half-open after its channel closed. */
const LINGER_MS = 30_000;

export class ForwardedConnection {
  readonly id = nextId++;
  readonly openedAt = Date.now();
  /** Bytes from the originator towards the destination, and back. */
  bytesSent = 0;
  bytesReceived = 0;
  private closed = false;
  private channel: ClientChannel | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;

  constructor(
    /** The socket on our side: the local client for -L/-D, the local target for -R. */
    private readonly socket: Socket | HandleSocket,
    readonly originAddress: string,
    readonly originPort: number,
    readonly destination: string,
    /** For -R the socket is the destination side, so the byte directions swap. */
    private readonly socketIsOrigin: boolean,
    private readonly onClose: (conn: ForwardedConnection) => void,
    /** Called on every chunk moved (keep it cheap: it is on the data path). */
    private readonly onTraffic: () => void,
  ) {
    if (socket instanceof HandleSocket) {
      socket.onClose = () => this.finish();
    } else {
      socket.on('error', () => this.abort());
      socket.on('close', () => this.finish());
    }
  }

  /** Joins the socket and the channel. Either side's end is passed on as a half-close. */
  attach(channel: ClientChannel): void {
    if (this.closed) {
      channel.on('error', () => undefined);
      channel.close();
      return;
    }
    this.channel = channel;
    const socket = this.socket;
    channel.on('error', () => this.abort());
    // The channel is gone: let the socket flush what it still holds, then close it. A peer that
    // never closes its side is cut off after LINGER_MS.
    channel.on('close', () => {
      if (this.closed) return;
      // What our side still sends has nowhere to go: read it and drop it, so that its end (or its
      // reset) is seen and the connection closes, instead of waiting paused for a channel that
      // will never drain again (until LINGER_MS).
      if (socket instanceof HandleSocket) {
        socket.onData = () => undefined;
      } else {
        socket.unpipe(channel);
        socket.removeAllListeners('data');
      }
      socket.resume();
      socket.end();
      this.lingerTimer = setTimeout(() => this.abort(), LINGER_MS);
      this.lingerTimer.unref();
    });
    if (socket instanceof HandleSocket) return this.join(socket, channel);
    socket.on('data', (chunk: Buffer) => this.readFromSocket(chunk.length));
    channel.on('data', (chunk: Buffer) => this.readFromChannel(chunk.length));
    socket.pipe(channel);
    channel.pipe(socket);
    socket.resume();
  }

  /**
   * What `pipe()` both ways does for a net.Socket, for a HandleSocket (-L's and -D's client, -R's target):
   * each side's bytes written to the other, reading paused while the other cannot take more, and
   * either side's end passed on as a half-close.
   */
  private join(socket: HandleSocket, channel: ClientChannel): void {
    const resumeReading = (): void => socket.resume();
    socket.onData = (chunk) => {
      this.readFromSocket(chunk.length);
      if (!channel.write(chunk)) {
        socket.pause();
        channel.once('drain', resumeReading);
      }
    };
    socket.onEnd = () => channel.end();
    socket.onDrain = () => channel.resume();
    channel.on('data', (chunk: Buffer) => {
      this.readFromChannel(chunk.length);
      if (!socket.write(chunk)) channel.pause();
    });
    channel.on('end', () => socket.end());
    // A channel that was read before (-R's SOCKS handshake) was left paused: 'data' alone would
    // not start it.
    channel.resume();
    socket.resume();
  }

  /** Counts `n` bytes our socket read (towards the channel); for -R they flow back to the originator. */
  private readFromSocket(n: number): void {
    if (this.socketIsOrigin) this.bytesSent += n;
    else this.bytesReceived += n;
    this.onTraffic();
  }

  /** Counts `n` bytes the channel brought (towards our socket). */
  private readFromChannel(n: number): void {
    if (this.socketIsOrigin) this.bytesReceived += n;
    else this.bytesSent += n;
    this.onTraffic();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Tears both sides down at once (stop, error). */
  abort(): void {
    if (this.closed) return;
    this.socket.destroy();
    this.finish();
  }

  /** The socket has closed: close the channel too and forget the connection. */
  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    if (this.channel) {
      if (!(this.socket instanceof HandleSocket)) this.channel.unpipe();
      this.channel.close();
    }
    this.onClose(this);
  }

  snapshot(): ConnectionSnapshot {
    return {
      id: this.id,
      originAddress: this.originAddress,
      originPort: this.originPort,
      destination: this.destination,
      bytesSent: this.bytesSent,
      bytesReceived: this.bytesReceived,
      openedAt: this.openedAt,
    };
  }
}
