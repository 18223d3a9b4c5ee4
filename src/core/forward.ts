/**
 * What every forward (-L, -R, -D) shares: its state machine (stopped → starting → listening, and
 * reconnecting / error with a reason), its live connections and byte counters, and how it follows
 * its session through losses and reconnects.
 */
import { ForwardedConnection } from './connection';
import { Emitter, type Disposable } from './emitter';
import { TunnelError } from './errors';
import { formatForwardFlag } from './forwardSpec';
import type { Client } from 'ssh2';
import type { Log } from './log';
import type { ForwardSnapshot, ForwardSpec, ForwardState } from './model';
import type { SshSession } from './session';

const TRAFFIC_NOTIFY_MS = 1000;

export interface ForwardOptions {
  id: string;
  /** The host as the user knows it (alias or destination). */
  host: string;
  spec: ForwardSpec;
  label?: string;
  /** The user confirmed listening on a non-loopback address (GatewayPorts / -g). */
  allowNonLoopback?: boolean;
  session: SshSession;
  log: Log;
}

export abstract class Forward implements Disposable {
  readonly id: string;
  readonly host: string;
  readonly spec: ForwardSpec;
  label: string | undefined;
  readonly allowNonLoopback: boolean;
  protected readonly session: SshSession;
  protected readonly log: Log;

  private _state: ForwardState = 'stopped';
  private _error: string | undefined;
  private _since = Date.now();
  protected listenAddress: string | undefined;
  protected listenPort: number | undefined;
  /** The most recent failure of a single connection (the forward itself may be fine). */
  protected lastConnectionError: string | undefined;

  private readonly connections = new Set<ForwardedConnection>();
  private closedBytesSent = 0;
  private closedBytesReceived = 0;
  private totalConnections = 0;
  private startedAt = 0;
  /** Counts starts, so that an open() outlived by its start (stopped meanwhile) changes nothing. */
  private starts = 0;
  private sessionHold: Disposable | undefined;
  private sessionSubs: Disposable[] = [];

  private trafficTimer: NodeJS.Timeout | undefined;

  private readonly changeEmitter = new Emitter<{ structural: boolean }>();
  /** `structural` is false when only byte counters moved (a UI may throttle those). */
  readonly onChange = this.changeEmitter.event;

  constructor(opts: ForwardOptions) {
    this.id = opts.id;
    this.host = opts.host;
    this.spec = opts.spec;
    this.label = opts.label;
    this.allowNonLoopback = opts.allowNonLoopback === true;
    this.session = opts.session;
    this.log = opts.log;
  }

  get state(): ForwardState { return this._state; }
  get error(): string | undefined { return this._error; }
  get active(): boolean { return this._state !== 'stopped' && this._state !== 'error'; }
  get sshFlag(): string { return formatForwardFlag(this.spec); }

  /** Starts the forward; resolves once it listens (or waits for a reconnect), rejects with the reason it can't. */
  async start(): Promise<void> {
    if (this.active) return;
    this.setState('starting');
    this.starts++;
    this.lastConnectionError = undefined;
    this.startedAt = Date.now();
    this.sessionHold = this.session.retain();
    this.sessionSubs = [
      this.session.onLost((reason) => {
        if (this._state === 'listening') this.setState('reconnecting', reason.message);
        this.onSessionLost();
      }),
      this.session.onReady(() => {
        // While starting, open() is itself waiting for this connection and sets the forward up on
        // it; doing it here too would ask twice (for -R, the second request fails: port in use).
        if (this.active && this._state !== 'starting') this.onSessionReady();
      }),
      this.session.onChange(() => {
        const s = this.session;
        if (!this.active) return;
        if (s.state === 'error') this.fail(s.failure ?? new TunnelError(s.error ?? 'The SSH connection failed.', true));
        else if (s.state === 'reconnecting' && this._state !== 'starting') this.setState('reconnecting', s.error);
      }),
    ];
    try {
      await this.open();
    } catch (err) {
      const e = err instanceof TunnelError ? err : new TunnelError((err as Error).message, true);
      this.fail(e);
      throw e;
    }
  }

  /** Stops listening, closes every connection, lets go of the session. */
  async stop(): Promise<void> {
    if (this._state === 'stopped') return;
    await this.teardown();
    this.setState('stopped');
  }

  /** Puts the forward in `error` and releases everything it holds. */
  fail(err: TunnelError): void {
    if (this._state === 'error' && this._error === err.message) return;
    void this.teardown();
    err.logOnce(this.log);
    this.setState('error', err.message);
  }

  private async teardown(): Promise<void> {
    this.sessionSubs.forEach((s) => s.dispose());
    this.sessionSubs = [];
    const hold = this.sessionHold;
    this.sessionHold = undefined;
    for (const conn of [...this.connections]) conn.abort();
    if (this.trafficTimer) clearTimeout(this.trafficTimer);
    this.trafficTimer = undefined;
    await this.close();
    if (this.startedAt) {
      const { bytesSent, bytesReceived } = this.totals();
      this.log.verbose(`Transferred: sent ${bytesSent}, received ${bytesReceived} bytes, in ${((Date.now() - this.startedAt) / 1000).toFixed(1)} seconds`);
      this.startedAt = 0;
    }
    this.listenAddress = undefined;
    this.listenPort = undefined;
    hold?.dispose();
  }

  /**
   * The session's connection, for open(): undefined when the forward must wait for a reconnect
   * (state set to say why), or when it was stopped while connecting (state left as the stop set
   * it: the attempt's end is not this forward's news). Throws a failure that will not heal.
   */
  protected async connectSession(): Promise<Client | undefined> {
    const start = this.starts;
    const current = (): boolean => start === this.starts && this._state === 'starting';
    try {
      const client = await this.session.connect();
      return current() ? client : undefined;
    } catch (err) {
      if (!current()) return undefined;
      const e = err as TunnelError;
      if (e.fatal) throw e;
      // The session retries on its own; say why we wait.
      this.setState('reconnecting', e.message);
      return undefined;
    }
  }

  /** Binds/requests the listener and connects as needed; throws a TunnelError on failure. */
  protected abstract open(): Promise<void>;
  /** Releases the listener (local server or remote binding). Must not throw. */
  protected abstract close(): Promise<void>;
  /** The session is back after a loss. */
  protected abstract onSessionReady(): void;
  protected onSessionLost(): void { /* most forwards keep their local listener */ }

  protected setState(state: ForwardState, error?: string): void {
    if (state !== this._state) this._since = Date.now();
    this._state = state;
    this._error = error;
    this.changeEmitter.fire({ structural: true });
  }

  /** A connection was refused or failed; the forward itself carries on. */
  protected connectionFailed(message: string): void {
    this.lastConnectionError = message;
    this.changeEmitter.fire({ structural: true });
  }

  protected track(conn: ForwardedConnection): void {
    this.connections.add(conn);
    this.totalConnections++;
    this.changeEmitter.fire({ structural: true });
  }

  /** The `onClose` callback for connections of this forward. */
  protected readonly untrack = (conn: ForwardedConnection): void => {
    if (!this.connections.delete(conn)) return;
    this.closedBytesSent += conn.bytesSent;
    this.closedBytesReceived += conn.bytesReceived;
    this.changeEmitter.fire({ structural: true });
  };

  /** The `onTraffic` callback: byte counters moved; tell listeners at most once a second. */
  protected readonly traffic = (): void => {
    if (this.trafficTimer) return;
    this.trafficTimer = setTimeout(() => {
      this.trafficTimer = undefined;
      this.changeEmitter.fire({ structural: false });
    }, TRAFFIC_NOTIFY_MS);
  };

  private totals(): { bytesSent: number; bytesReceived: number } {
    let bytesSent = this.closedBytesSent;
    let bytesReceived = this.closedBytesReceived;
    for (const c of this.connections) {
      bytesSent += c.bytesSent;
      bytesReceived += c.bytesReceived;
    }
    return { bytesSent, bytesReceived };
  }

  snapshot(): ForwardSnapshot {
    return {
      id: this.id,
      host: this.host,
      kind: this.spec.kind,
      spec: { ...this.spec },
      sshFlag: this.sshFlag,
      label: this.label,
      state: this._state,
      error: this._error,
      lastConnectionError: this.lastConnectionError,
      listenAddress: this.listenAddress,
      listenPort: this.listenPort,
      since: this._since,
      ...this.totals(),
      totalConnections: this.totalConnections,
      connections: [...this.connections].map((c) => c.snapshot()),
      allowNonLoopback: this.allowNonLoopback,
    };
  }

  /** Closes one live connection (the `~#` list's "close"). */
  closeConnection(connectionId: number): boolean {
    const conn = [...this.connections].find((c) => c.id === connectionId);
    conn?.abort();
    return conn !== undefined;
  }

  dispose(): void {
    void this.stop();
    this.changeEmitter.dispose();
  }
}
