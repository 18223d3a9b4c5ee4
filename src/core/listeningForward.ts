/**
 * A forward that listens on this machine (-L and -D): binds loopback unless a non-loopback bind was
 * confirmed, keeps its port across SSH reconnects (connections arriving meanwhile wait for the
 * session), and opens one direct-tcpip channel per accepted connection.
 */
import net = require('node:net');
import { ForwardedConnection } from './connection';
import { ConnectionLines } from './connectionLines';
import { TunnelError, describeListenError, describeOpenFailure } from './errors';
import { Forward } from './forward';
import { bindsNonLoopback, effectiveBindAddress, formatForwardFlag } from './forwardSpec';
import { HandleSocket, acceptHandles } from './handleSocket';
import { readAcceptedIntoSharedBuffer } from './reusedReads';

/**
 * Node's default listen backlog is 511: a burst of more simultaneous connects (a browser, a test
 * runner) overflows the accept queue and the dropped SYNs are retried after 1 s. The kernel caps
 * this at net.core.somaxconn (4096 on current Linux).
 */
const LISTEN_BACKLOG = 4096;
/** How long a connection that arrives during a reconnect waits for the session. */
const WAIT_FOR_SESSION_MS = 15_000;
/** The net.Socket fallback of -L and -D is logged once per process. */
let fallbackReported = false;

export interface Destination {
  host: string;
  port: number;
  /** Called once the channel is open (true) or refused (false); -D answers its SOCKS client here. */
  opened?(ok: boolean, reason?: 'refused' | 'not-allowed' | 'host-unreachable' | 'general'): void;
}

export abstract class ListeningForward extends Forward {
  private server: net.Server | undefined;
  private readonly lines = new ConnectionLines(this.log, () => `Port ${this.listenPort}`);

  /** Where a new connection goes (for -D after the SOCKS handshake); undefined drops it. */
  protected abstract destinationFor(socket: net.Socket | HandleSocket): Promise<Destination | undefined>;
  /** The OpenSSH debug line announcing what this listener does. */
  protected abstract describe(address: string, port: number): string;

  protected async open(): Promise<void> {
    const address = effectiveBindAddress(this.spec);
    if (bindsNonLoopback(this.spec) && !this.allowNonLoopback) {
      throw new TunnelError(
        `Refusing to listen on ${address} port ${this.spec.bindPort}: that lets other machines on your network use this tunnel. ` +
          'Bind 127.0.0.1 instead, or confirm that you want it reachable from outside (GatewayPorts / -g).',
        true, 'NON_LOOPBACK_NOT_CONFIRMED');
    }
    const server = net.createServer({ pauseOnConnect: true, noDelay: true, allowHalfOpen: true }, (socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: address, port: this.spec.bindPort, exclusive: true, backlog: LISTEN_BACKLOG }, () => {
        server.off('error', reject);
        resolve();
      });
    }).catch(async (err: NodeJS.ErrnoException) => {
      throw await describeListenError(err, address, this.spec.bindPort, (free) => formatForwardFlag({ ...this.spec, bindPort: free }));
    });
    server.on('error', (err) => this.log.error(`listener on ${address} port ${this.listenPort}: ${err.message}`));
    // Accepted connections are driven through their TCP handles (handleSocket.ts) rather than as
    // net.Sockets, where this Node allows it (-D reads its SOCKS handshake from the handle too).
    if (!acceptHandles(server, (socket) => void this.accept(socket)) && !fallbackReported) {
      fallbackReported = true;
      this.log.debug1(`Node ${process.version} lacks the TCP handle API that local and dynamic forwards use for their connections; ` +
        'they take them as net.Sockets instead (the same bytes, more CPU per connection).');
    }
    this.server = server;
    const bound = server.address() as net.AddressInfo;
    this.listenAddress = bound.address;
    this.listenPort = bound.port;
    this.log.debug1(this.describe(bound.address, bound.port));
    this.log.debug1(`${this.spec.kind === 'dynamic' ? 'Local dynamic forwarding' : 'Local forwarding'} listening on ${bound.address} port ${bound.port}.`);
    // Waiting for a reconnect, the port stays open.
    if (await this.connectSession()) this.setState('listening');
  }

  protected async close(): Promise<void> {
    this.lines.dispose();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  protected onSessionReady(): void {
    this.setState('listening');
  }

  private async accept(accepted: net.Socket | HandleSocket): Promise<void> {
    // Up to 1 MiB per read instead of Node's 64 KiB (bench/README.md change 25).
    const socket = accepted instanceof HandleSocket ? accepted : readAcceptedIntoSharedBuffer(accepted);
    if (!(socket instanceof HandleSocket)) socket.on('error', () => socket.destroy());
    const originAddress = socket.remoteAddress ?? '?';
    const originPort = socket.remotePort ?? 0;
    let dest: Destination | undefined;
    try {
      dest = await this.destinationFor(socket);
    } catch (err) {
      this.log.debug1(`${this.listenAddress} port ${this.listenPort}: ${(err as Error).message}`);
      socket.destroy();
      return;
    }
    if (!dest || socket.destroyed) {
      socket.destroy();
      return;
    }
    const conn = new ForwardedConnection(socket, originAddress, originPort, formatHostPort(dest.host, dest.port), true, this.untrack, this.traffic);
    this.track(conn);
    const client = this.session.ready ?? (await this.session.whenReady(WAIT_FOR_SESSION_MS));
    if (!client || conn.isClosed) {
      if (!client) this.connectionFailed(`Connection from ${originAddress} port ${originPort} dropped: the SSH connection to ${this.host} is not up.`);
      dest.opened?.(false, 'general');
      conn.abort();
      return;
    }
    const channel = this.session.nextChannelId();
    if (this.lines.admit()) {
      this.log.debug1(`Connection to port ${this.listenPort} forwarding to ${dest.host} port ${dest.port} requested.`);
      this.log.debug1(`channel ${channel}: new [direct-tcpip] connect from ${originAddress} port ${originPort}`);
    }
    client.forwardOut(originAddress, originPort, dest.host, dest.port, (err, stream) => {
      if (err) {
        const e = describeOpenFailure(err, this.host, dest.host, dest.port);
        this.log.info(`channel ${channel}: ${e.message}`);
        this.connectionFailed(e.message);
        dest.opened?.(false, e.code === 'ADMINISTRATIVELY_PROHIBITED' ? 'not-allowed' : e.code === 'DESTINATION_UNRESOLVED' ? 'host-unreachable' : 'refused');
        conn.abort();
        return;
      }
      dest.opened?.(true);
      conn.attach(stream);
    });
  }
}

export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
