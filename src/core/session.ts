/**
 * One SSH connection to a host, shared by all of that host's forwards: ProxyJump chain, host key
 * check before credentials, authentication, keepalive (ServerAliveInterval × ServerAliveCountMax),
 * and reconnection with backoff (1 s doubling to 60 s, never giving up) while anything still wants
 * the connection. Forwards subscribe to `onReady` to re-create themselves after every reconnect.
 */
import type { Client, ClientChannel, TcpConnectionDetails } from 'ssh2';
import { createAuth } from './auth';
import { Emitter, type Disposable } from './emitter';
import { TunnelError, describeConnectionError } from './errors';
import { ssh2 } from './lazySsh2';
import { cipherAlgorithms } from './ciphers';
import { PromptAcks } from './promptAcks';
import { ReusedReads } from './reusedReads';
import { checkHostKey } from './hostKeyPolicy';
import type { Log } from './log';
import type { Prompter, SessionState } from './model';
import type { ResolvedHost } from './sshConfig';


const BACKOFF_FIRST_MS = 1000;
const BACKOFF_MAX_MS = 60_000;
const DEFAULT_CONNECT_TIMEOUT_S = 20;

export interface SessionOptions {
  host: ResolvedHost;
  /** Resolves a ProxyJump hop (`[user@]host[:port]` or an alias) through the same ssh config. */
  resolveHop: (hop: string) => ResolvedHost;
  log: Log;
  prompter: Prompter;
  /** Reconnect automatically after a loss (default true). */
  reconnect?: boolean;
  /** First backoff delay; tests shorten it. */
  backoffFirstMs?: number;
}

export type InboundHandler = (details: TcpConnectionDetails, accept: () => ClientChannel, reject: () => void) => void;

/** An inbound -R route registered by a remote forward. */
interface InboundRoute {
  address: string;
  port: number;
  handler: InboundHandler;
}

function notWanted(): TunnelError {
  return new TunnelError('Connection no longer wanted.', false, 'NOT_WANTED');
}

export class SshSession implements Disposable {
  readonly host: ResolvedHost;
  private readonly opts: SessionOptions;
  private readonly log: Log;

  private _state: SessionState = 'disconnected';
  private _error: string | undefined;
  private _failure: TunnelError | undefined;
  private _since = Date.now();
  private _attempt = 0;
  private _nextAttemptAt: number | undefined;

  private client: Client | undefined;
  private chain: Client[] = [];
  private connecting: Promise<Client> | undefined;
  /** Aborted when the attempt under way is no longer wanted: it ends, and its open questions close. */
  private attemptWanted: AbortController | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private holders = 0;
  private disposed = false;
  private everConnected = false;
  private channelSeq = 0;
  private readonly routes = new Set<InboundRoute>();

  private readonly readyEmitter = new Emitter<Client>();
  private readonly lostEmitter = new Emitter<TunnelError>();
  private readonly changeEmitter = new Emitter<void>();
  /** A connection is up (first time or after a reconnect). */
  readonly onReady = this.readyEmitter.event;
  /** The connection went away (a reconnect may follow). */
  readonly onLost = this.lostEmitter.event;
  /** State, error or retry schedule changed. */
  readonly onChange = this.changeEmitter.event;

  constructor(opts: SessionOptions) {
    this.opts = opts;
    this.host = opts.host;
    this.log = opts.log;
  }

  get state(): SessionState { return this._state; }
  get error(): string | undefined { return this._error; }
  /** Why the session is in `error`: the failure itself (its `logged` says whether the log has it). */
  get failure(): TunnelError | undefined { return this._failure; }
  get since(): number { return this._since; }
  get attempt(): number { return this._attempt; }
  get nextAttemptAt(): number | undefined { return this._nextAttemptAt; }
  /** The live ssh2 client, when connected. */
  get ready(): Client | undefined { return this._state === 'connected' ? this.client : undefined; }

  /** OpenSSH-style channel numbers for log lines. */
  nextChannelId(): number {
    return this.channelSeq++;
  }

  /**
   * Keeps the connection up (and reconnects it) until the returned handle is disposed. Running
   * forwards and an explicit "connect" hold one each; when the last is let go, the connection closes.
   */
  retain(): Disposable {
    this.holders++;
    let released = false;
    return {
      dispose: () => {
        if (released) return;
        released = true;
        this.holders--;
        if (this.holders === 0) this.close('disconnected');
      },
    };
  }

  private get wanted(): boolean {
    return this.holders > 0 && !this.disposed;
  }

  /** Connects (or joins the attempt under way). Rejects with a TunnelError saying cause and fix. */
  connect(): Promise<Client> {
    if (this.disposed) return Promise.reject(new TunnelError('The session was closed.', true));
    if (this.ready) return Promise.resolve(this.ready);
    if (!this.connecting) {
      this.clearRetry();
      const attempt = this.attemptConnection();
      this.connecting = attempt;
      // An attempt ended by close() is no longer `connecting`: a new one may be under way.
      attempt.then(
        () => { if (this.connecting === attempt) this.connecting = undefined; },
        (err: TunnelError) => {
          if (this.connecting !== attempt) return;
          this.connecting = undefined;
          this.onAttemptFailed(err);
        },
      );
    }
    return this.connecting;
  }

  /** Waits for a connection for up to `timeoutMs`; undefined when none came. */
  whenReady(timeoutMs: number): Promise<Client | undefined> {
    if (this.ready) return Promise.resolve(this.ready);
    return new Promise((resolve) => {
      const sub = this.onReady((c) => {
        clearTimeout(timer);
        sub.dispose();
        resolve(c);
      });
      const timer = setTimeout(() => {
        sub.dispose();
        resolve(undefined);
      }, timeoutMs);
    });
  }

  /** Skips the backoff wait (the user asked, or the machine woke up). */
  retryNow(): void {
    if (this._state === 'reconnecting' || this._state === 'error') {
      this.connect().catch(() => undefined);
    }
  }

  /** Routes inbound forwarded-tcpip channels for `address:port` (the port sshd actually bound). */
  addInboundRoute(address: string, port: number, handler: InboundHandler): Disposable {
    const route: InboundRoute = { address, port, handler };
    this.routes.add(route);
    return { dispose: () => this.routes.delete(route) };
  }

  private routeInbound(details: TcpConnectionDetails, accept: () => ClientChannel, reject: () => void): void {
    const candidates = [...this.routes].filter((r) => r.port === details.destPort);
    const route = candidates.find((r) => r.address === details.destIP) ?? (candidates.length === 1 ? candidates[0] : undefined);
    if (!route) {
      this.log.error(`WARNING: Server requests forwarding for unknown listen_port ${details.destPort}`);
      reject();
      return;
    }
    route.handler(details, accept, reject);
  }

  private setState(state: SessionState, error?: string | TunnelError): void {
    if (this._state !== state) this._since = Date.now();
    this._state = state;
    this._error = error instanceof TunnelError ? error.message : error;
    this._failure = state === 'error' && error instanceof TunnelError ? error : undefined;
    this.changeEmitter.fire();
  }

  private onAttemptFailed(err: TunnelError): void {
    if (this.disposed || !this.wanted) {
      // Ended because nothing wants it: disconnected, as asked, with nothing to report.
      this.setState(err.fatal ? 'error' : 'disconnected', err.code === 'NOT_WANTED' ? undefined : err);
      return;
    }
    if (err.fatal || this.opts.reconnect === false) {
      err.logOnce(this.log);
      this.setState('error', err);
      return;
    }
    this.scheduleRetry(err.message);
  }

  private scheduleRetry(reason: string): void {
    const first = this.opts.backoffFirstMs ?? BACKOFF_FIRST_MS;
    const delay = Math.min(first * 2 ** Math.min(this._attempt, 16), BACKOFF_MAX_MS);
    this._attempt++;
    this._nextAttemptAt = Date.now() + delay;
    this.log.info(`${reason} — reconnecting to ${this.host.alias} in ${(delay / 1000).toFixed(delay < 10_000 ? 1 : 0)} s (attempt ${this._attempt}).`);
    this.setState('reconnecting', reason);
    this.clearRetry();
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connect().catch(() => undefined);
    }, delay);
  }

  private clearRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this._nextAttemptAt = undefined;
  }

  private async attemptConnection(): Promise<Client> {
    this.setState(this.everConnected || this._attempt > 0 ? 'reconnecting' : 'connecting', this._error);
    if (this.host.proxyCommand !== undefined) {
      throw new TunnelError(
        `ProxyCommand is set for ${this.host.alias} ("${this.host.proxyCommand}"), and SSH Tunnels never runs commands through a shell. Use ProxyJump for jump hosts instead.`,
        true, 'PROXY_COMMAND');
    }
    const hops = this.host.proxyJump.map((hop: string) => this.opts.resolveHop(hop));
    for (const h of [this.host, ...hops]) {
      const bad = h.badOptions?.[0];
      if (bad) {
        // Like ssh: never connect with a bad option ignored (it would go direct instead of through
        // a malformed ProxyJump, or to port 22 instead of a bad Port).
        throw new TunnelError(
          `${bad.file} line ${bad.line}: ${bad.message} SSH Tunnels, like ssh, does not connect to ${h.alias} while an option that applies to it is bad: fix that line${h.badOptions!.length > 1 ? ` (and ${h.badOptions!.length - 1} more)` : ''}.`,
          true, 'BAD_CONFIG');
      }
    }
    const chain: Client[] = [];
    const wanted = new AbortController();
    this.attemptWanted = wanted;
    try {
      let sock: ClientChannel | undefined;
      for (const hop of hops) {
        const hopClient = await this.openClient(hop, wanted.signal, sock);
        chain.push(hopClient);
        const next = hops[chain.length] ?? this.host;
        sock = await this.tunnelThrough(hopClient, hop, next);
      }
      const client = await this.openClient(this.host, wanted.signal, sock);
      if (this.disposed || !this.wanted) {
        client.end();
        chain.forEach((c) => c.end());
        throw notWanted();
      }
      this.adopt(client, chain);
      return client;
    } catch (err) {
      chain.forEach((c) => c.end());
      throw err instanceof TunnelError ? err : new TunnelError((err as Error).message, false);
    } finally {
      if (this.attemptWanted === wanted) this.attemptWanted = undefined;
    }
  }

  /** Makes a connected client the session's own: routing, loss detection, state. */
  private adopt(client: Client, chain: Client[]): void {
    this.client = client;
    this.chain = chain;
    this.everConnected = true;
    this._attempt = 0;
    this._nextAttemptAt = undefined;
    client.on('tcp connection', (details, accept, reject) => this.routeInbound(details, accept, reject));
    let lostError: Error | undefined;
    client.on('error', (err) => { lostError = err; });
    const onGone = (): void => {
      if (this.client !== client) return;
      this.client = undefined;
      this.chain.forEach((c) => c.end());
      this.chain = [];
      const reason = lostError
        ? describeConnectionError(lostError, this.host.hostName, this.host.port)
        : new TunnelError(`Connection to ${this.host.hostName} closed by remote host.`, false, 'CLOSED');
      this.lostEmitter.fire(reason);
      if (this.disposed || !this.wanted) {
        this.setState('disconnected');
        return;
      }
      this.log.info(reason.message);
      reason.logged = true;
      if (this.opts.reconnect === false) {
        this.setState('error', reason);
        return;
      }
      this.scheduleRetry(reason.message);
    };
    client.on('close', onGone);
    for (const hop of chain) hop.on('close', () => client.end());
    this.setState('connected');
    this.readyEmitter.fire(client);
  }

  /** A direct-tcpip channel from `via` to the next hop, used as the next client's socket. */
  private tunnelThrough(via: Client, viaHost: ResolvedHost, next: ResolvedHost): Promise<ClientChannel> {
    return new Promise((resolve, reject) => {
      via.forwardOut('127.0.0.1', 0, next.hostName, next.port, (err, channel) => {
        if (err) {
          reject(new TunnelError(
            `ProxyJump through ${viaHost.alias} to ${next.hostName}:${next.port} failed: ${err.message.replace(/^\(SSH\) /, '')} — check that ${viaHost.alias} can reach ${next.hostName} port ${next.port} and allows TCP forwarding.`,
            false, 'JUMP_FAILED'));
          return;
        }
        channel.on('error', () => undefined);
        resolve(channel);
      });
    });
  }

  /**
   * One SSH connection: TCP (or a jump channel), host key check, authentication. Ends (and
   * withdraws any question it has open) when `wanted` aborts.
   */
  private openClient(host: ResolvedHost, wanted: AbortSignal, sock?: ClientChannel): Promise<Client> {
    const log = this.log;
    const name = host.alias;
    return new Promise<Client>((resolve, reject) => {
      if (wanted.aborted) {
        reject(notWanted());
        return;
      }
      const client = new (ssh2().Client)();
      // Withdraws the user's open questions once this attempt is over, however it ends.
      const asking = new AbortController();
      const auth = createAuth(host, name, log, this.opts.prompter, asking.signal);
      let hostKeyError: TunnelError | undefined;
      let acceptedKey: Buffer | undefined;
      let settled = false;
      const timeoutS = host.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT_S;
      let timer: NodeJS.Timeout | undefined = setTimeout(() => {
        fail(new TunnelError(`ssh: connect to host ${host.hostName} port ${host.port}: Connection timed out — no SSH answer within ${timeoutS} s; check the network, VPN or ConnectTimeout.`, false, 'CONNECT_TIMEOUT'));
        client.end();
        client.destroy();
      }, timeoutS * 1000);
      const stopTimer = (): void => {
        if (timer) clearTimeout(timer);
        timer = undefined;
      };
      const onUnwanted = (): void => {
        fail(notWanted());
        client.end();
        client.destroy();
      };
      wanted.addEventListener('abort', onUnwanted);
      const settle = (): void => {
        settled = true;
        wanted.removeEventListener('abort', onUnwanted);
        asking.abort();
      };
      const fail = (err: TunnelError): void => {
        stopTimer();
        if (settled) return;
        settle();
        reject(err);
      };

      client.on('ready', () => {
        stopTimer();
        if (settled) return;
        settle();
        client.setNoDelay(true);
        tcp?.start(client);
        reads?.reuse();
        log.debug1(`Authentication succeeded (${auth.current ?? 'none'}).`);
        log.debug1(`Authenticated to ${host.hostName} ([${host.hostName}]:${host.port}) using "${auth.current ?? 'none'}".`);
        resolve(client);
      });
      client.on('error', (err: Error & { level?: string }) => {
        if (hostKeyError) return fail(hostKeyError);
        if (err.level === 'client-authentication') {
          if (auth.cancelled) return fail(new TunnelError(`Authentication to ${host.user}@${host.hostName} was cancelled.`, true, 'AUTH_CANCELLED'));
          const methods = auth.serverMethods.join(',') || 'none';
          const tried = auth.tried.length ? auth.tried.join(', ') : 'nothing (no usable key, agent or prompt)';
          const skipped = auth.skipped.length ? ` Not offered: ${auth.skipped.join(', ')}.` : '';
          return fail(new TunnelError(
            `${host.user}@${host.hostName}: Permission denied (${methods}). Tried: ${tried}.${skipped} ` +
              'Check the user name, add your key to the server\'s authorized_keys, or set IdentityFile for this host in ~/.ssh/config.',
            true, 'AUTH_FAILED'));
        }
        fail(describeConnectionError(err, host.hostName, host.port));
      });
      client.on('close', () => {
        // A cancelled keyboard-interactive prompt answers with no replies, and sshd hangs up at
        // once ("wrong number of replies") without an auth failure: that is still the user's
        // cancel, not a lost connection to retry (which would ask again and again).
        if (hostKeyError) return fail(hostKeyError);
        if (auth.cancelled) return fail(new TunnelError(`Authentication to ${host.user}@${host.hostName} was cancelled.`, true, 'AUTH_CANCELLED'));
        fail(new TunnelError(`Connection to ${host.hostName} port ${host.port} closed before authentication completed.`, false, 'CLOSED'));
      });
      client.on('handshake', () => log.debug1('SSH2_MSG_NEWKEYS received'));

      if (sock) log.debug1(`Connecting to ${host.hostName} port ${host.port} through ProxyJump.`);
      else log.debug1(`Connecting to ${name} [${host.hostName}] port ${host.port}.`);
      let tcp: PromptAcks | undefined;
      let reads: ReusedReads | undefined;
      try {
        const algorithms = cipherAlgorithms(host, log);
        if (!sock) {
          reads = new ReusedReads({ host: host.hostName, port: host.port, noDelay: true });
          tcp = new PromptAcks(reads.socket);
        }
        client.connect({
          algorithms,
          host: host.hostName,
          port: host.port,
          username: host.user,
          // Our own socket, so that the three writes ssh2 makes per packet go out as one.
          sock: sock ?? tcp?.socket,
          readyTimeout: 0,
          keepaliveInterval: host.serverAliveInterval * 1000,
          keepaliveCountMax: host.serverAliveCountMax,
          authHandler: auth.handler,
          hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
            if (acceptedKey) {
              // A key re-exchange (OpenSSH rekeys chacha20-poly1305 every 1 GiB, any cipher per
              // RekeyLimit): the host key must be the one accepted at connect. Answered at once:
              // ssh2 1.17 corrupts the stream when a rekey's host check answers later (sshd:
              // "Bad packet length ... Connection corrupted" right after NEWKEYS).
              const same = key.equals(acceptedKey);
              if (!same) log.error(`Host key for ${host.hostName} changed during key re-exchange; disconnecting.`);
              verify(same);
              return;
            }
            // The server answered and key exchange is under way: no more connect timeout; the user
            // may take their time over a host key question.
            stopTimer();
            checkHostKey(host, key, log, this.opts.prompter, asking.signal).then((err) => {
              hostKeyError = err;
              if (!err) acceptedKey = key;
              verify(!err);
            }, (err: Error) => {
              hostKeyError = new TunnelError(`Host key verification failed: ${err.message}`, true, 'HOST_KEY_ERROR');
              verify(false);
            });
          },
          debug: log.enabled('debug3') ? (line: string) => log.debug3(line) : undefined,
        });
      } catch (err) {
        // ssh2 refused the options before taking the socket: it has no error handler and no owner.
        tcp?.socket.on('error', () => undefined).destroy();
        fail(new TunnelError(`ssh: ${host.hostName}: ${(err as Error).message}`, true, 'CONFIG'));
      }
    });
  }

  private close(state: SessionState): void {
    this.clearRetry();
    // Only called when nothing wants the connection any more: an attempt under way ends too
    // (its open questions close), and the next connect() starts a fresh one.
    if (this.attemptWanted) {
      this.attemptWanted.abort();
      this.connecting = undefined;
    }
    const client = this.client;
    this.client = undefined;
    client?.end();
    this.chain.forEach((c) => c.end());
    this.chain = [];
    this._attempt = 0;
    // A failed host keeps showing why until it is tried again.
    if (client || (this._state !== state && this._state !== 'error')) {
      if (client) this.lostEmitter.fire(new TunnelError('Disconnected.', false, 'DISCONNECTED'));
      this.setState(state);
    }
  }

  /** Ends the connection and every timer; the session cannot be used afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.holders = 0;
    this.close('disconnected');
    this.disposed = true;
    this.readyEmitter.dispose();
    this.lostEmitter.dispose();
    this.changeEmitter.dispose();
    this.routes.clear();
  }
}
