/**
 * -R: sshd listens on the server and sends each connection back to host:hostport as seen from this
 * machine. Without a target (`-R [bind:]port`) it is a remote SOCKS proxy: the client asks over the
 * channel and we connect from here. After a reconnect the listener is requested again — with the
 * same port, even when the server first allocated it — and retried while sshd still holds the old one.
 */
import net = require('node:net');
import { ReusedReads } from './reusedReads';
import { connectHandle, handleConnects, type HandleSocket } from './handleSocket';
import type { ClientChannel, Client, TcpConnectionDetails } from 'ssh2';
import { ForwardedConnection } from './connection';
import { ConnectionLines } from './connectionLines';
import type { Disposable } from './emitter';
import { TunnelError, describeRemoteBindFailure } from './errors';
import { Forward } from './forward';
import { bindsNonLoopback } from './forwardSpec';
import { formatHostPort } from './listeningForward';
import { readSocksRequest } from './socks';

const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 10_000;
const LOCAL_CONNECT_TIMEOUT_MS = 10_000;
/** The line saying this Node cannot connect through handles is logged once per process. */
let fallbackReported = false;

export class RemoteForward extends Forward {
  private route: Disposable | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retries = 0;
  private readonly lines = new ConnectionLines(this.log, () => `Remote port ${this.listenPort} on ${this.host}`);

  /** What OpenSSH sends as the bind address: "localhost" by default, "" for every interface. */
  private get requestAddress(): string {
    const a = this.spec.bindAddress;
    if (a === undefined) return 'localhost';
    return a === '*' ? '' : a;
  }

  private get target(): string {
    return this.spec.targetHost !== undefined ? formatHostPort(this.spec.targetHost, this.spec.targetPort!) : 'SOCKS (dynamic)';
  }

  protected async open(): Promise<void> {
    if (bindsNonLoopback(this.spec) && !this.allowNonLoopback) {
      throw new TunnelError(
        `Refusing to ask ${this.host} to listen on ${this.spec.bindAddress || '*'} port ${this.spec.bindPort}: that would expose the tunnel to other machines on the server's network. ` +
          'Leave the bind address out (loopback), or confirm you want it reachable from outside (needs GatewayPorts on the server).',
        true, 'NON_LOOPBACK_NOT_CONFIRMED');
    }
    const client = await this.connectSession();
    if (client) await this.request(client, false);
  }

  /** Asks sshd to listen; on success routes inbound channels to us. */
  private request(client: Client, reconnecting: boolean): Promise<void> {
    const address = this.requestAddress;
    // After a reconnect ask for the port we had, even if the server picked it: never move silently.
    const port = reconnecting && this.listenPort ? this.listenPort : this.spec.bindPort;
    return new Promise<void>((resolve, reject) => {
      client.forwardIn(address, port, (err, allocated) => {
        if (!this.active) return resolve();
        if (err) return reject(describeRemoteBindFailure(this.host, address || '*', port, reconnecting));
        const bound = port === 0 ? allocated : port;
        this.listenAddress = address || '*';
        this.listenPort = bound;
        this.route?.dispose();
        this.route = this.session.addInboundRoute(address, bound, (details, accept, reject2) => this.inbound(details, accept, reject2));
        if (port === 0) this.log.info(`Allocated port ${bound} for remote forward to ${this.target}`);
        this.log.debug1(`remote forward success for: listen ${formatHostPort(address || '*', bound)}, connect ${this.target}`);
        this.log.debug1(`Remote connections from ${formatHostPort(address || '*', bound)} forwarded to local address ${this.target}`);
        this.retries = 0;
        this.setState('listening');
        resolve();
      });
    });
  }

  protected onSessionReady(): void {
    const client = this.session.ready;
    if (!client) return;
    this.clearRetry();
    this.request(client, true).catch((err: TunnelError) => this.retryLater(err));
  }

  protected override onSessionLost(): void {
    this.clearRetry();
    this.route?.dispose();
    this.route = undefined;
  }

  /** sshd refused the listener after a reconnect: usually the old one is still held. Never give up. */
  private retryLater(err: TunnelError): void {
    if (!this.active) return;
    const delay = Math.min(RETRY_FIRST_MS * 2 ** this.retries, RETRY_MAX_MS);
    this.retries++;
    const message = `${err.message} Next try in ${Math.round(delay / 1000)} s.`;
    this.log.info(message);
    this.setState('reconnecting', message);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.onSessionReady();
    }, delay);
  }

  private clearRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  protected async close(): Promise<void> {
    this.clearRetry();
    this.lines.dispose();
    this.route?.dispose();
    this.route = undefined;
    const client = this.session.ready;
    if (client && this.listenPort !== undefined && this.listenAddress !== undefined) {
      const address = this.requestAddress;
      const port = this.listenPort;
      await new Promise<void>((resolve) => {
        try {
          client.unforwardIn(address, port, () => resolve());
        } catch {
          resolve();
        }
      });
    }
  }

  private inbound(details: TcpConnectionDetails, accept: () => ClientChannel, reject: () => void): void {
    const channel = this.session.nextChannelId();
    if (this.lines.admit()) this.log.debug1(`channel ${channel}: new [forwarded-tcpip] connect from ${details.srcIP} port ${details.srcPort}`);
    if (this.spec.targetHost === undefined) {
      void this.inboundSocks(details, accept());
      return;
    }
    const host = this.spec.targetHost;
    const port = this.spec.targetPort!;
    this.connectLocal(host, port).then((socket) => {
      // Stopped while we connected: the channel sshd opened before then goes no further.
      if (!this.active) {
        socket.destroy();
        return reject();
      }
      const conn = new ForwardedConnection(socket, details.srcIP, details.srcPort, formatHostPort(host, port), false, this.untrack, this.traffic);
      this.track(conn);
      conn.attach(accept());
    }, (err: Error) => {
      reject();
      this.log.info(`connect_to ${host} port ${port}: failed.`);
      this.connectionFailed(`connect to ${formatHostPort(host, port)} failed: ${err.message} (on this machine) — start the service there, or fix the target of ${this.sshFlag}.`);
    });
  }

  private async inboundSocks(details: TcpConnectionDetails, stream: ClientChannel): Promise<void> {
    stream.on('error', () => stream.close());
    try {
      const req = await readSocksRequest(stream);
      // Stopped while the client was still asking, or while we connected: refuse, keep nothing.
      const stopped = (socket?: net.Socket | HandleSocket): boolean => {
        if (this.active) return false;
        socket?.destroy();
        req.reply(false, 'general');
        stream.close();
        return true;
      };
      if (stopped()) return;
      const socket = await this.connectLocal(req.host, req.port).catch((err: Error) => {
        req.reply(false, 'refused');
        throw err;
      });
      if (stopped(socket)) return;
      req.reply(true);
      const conn = new ForwardedConnection(socket, details.srcIP, details.srcPort, formatHostPort(req.host, req.port), false, this.untrack, this.traffic);
      this.track(conn);
      conn.attach(stream);
    } catch (err) {
      this.connectionFailed(`remote SOCKS request failed: ${(err as Error).message}`);
      stream.close();
    }
  }

  /**
   * Connects to a target on this machine: through a TCP handle of our own where Node allows it and
   * the target is an address or localhost (handleSocket.ts; less CPU per connection, bench/README.md
   * change 30), else as a net.Socket.
   */
  private async connectLocal(host: string, port: number): Promise<net.Socket | HandleSocket> {
    if (!handleConnects() && !fallbackReported) {
      fallbackReported = true;
      this.log.debug1(`Node ${process.version} lacks the TCP handle API that remote forwards use to connect to their targets; ` +
        'they connect net.Sockets instead (the same bytes, more CPU per connection).');
    }
    return (await connectHandle(host, port, LOCAL_CONNECT_TIMEOUT_MS)) ?? this.connectSocket(host, port);
  }

  private connectSocket(host: string, port: number): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      // Read into the engine's 1 MiB buffer, each read copied at its size (reuse() is never called:
      // a channel write beyond the window keeps its remainder): up to 1 MiB per read instead of
      // Node's 64 KiB, so fewer channel writes per GB (bench/README.md change 17).
      const socket = new ReusedReads({ host, port, noDelay: true, allowHalfOpen: true }).socket;
      const timer = setTimeout(() => socket.destroy(new Error('Connection timed out')), LOCAL_CONNECT_TIMEOUT_MS);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.off('error', onError);
        socket.pause();
        resolve(socket);
      });
      const onError = (err: Error): void => {
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      };
      socket.once('error', onError);
    });
  }
}
