/**
 * The engine's front door: hosts → sessions → forwards as one model. Commands are async and take
 * plain data; state goes out as plain-data snapshots through `onDidChange`, so a UI (or a worker
 * boundary) needs nothing else. One SSH session per host is shared by all of that host's forwards.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { DynamicForward } from './dynamicForward';
import { Emitter, type Disposable } from './emitter';
import { TunnelError } from './errors';
import type { Forward, ForwardOptions } from './forward';
import { admitForward } from './forwardRequest';
import { resolveHostSettings } from './hostSettings';
import { LocalForward } from './localForward';
import type { Log } from './log';
import type { ForwardKind, ForwardSnapshot, ForwardSpec, HostSnapshot, ManagerSnapshot, Prompter } from './model';
import { RemoteForward } from './remoteForward';
import { SshSession } from './session';
import { loadSshConfig, type ConfigProblem, type ConfiguredHost, type ResolvedHost, type SshConfig } from './sshConfig';

/** Snapshots go out at most this often while changes keep coming (10 a second is instant to the eye). */
const CHANGE_INTERVAL_MS = 100;

export interface ManagerOptions {
  log: Log;
  prompter: Prompter;
  /** ssh client config file; default ~/.ssh/config. */
  configFile?: string;
  /** Replaces UserKnownHostsFile from the ssh config when set. */
  knownHostsFile?: string;
  /** Overrides StrictHostKeyChecking from the ssh config when set. */
  strictHostKeyChecking?: ResolvedHost['strictHostKeyChecking'];
  /** ServerAliveInterval (s) for hosts whose ssh config sets none; default 15. */
  keepaliveInterval?: number;
  /** Reconnect after a loss (default true). */
  reconnect?: boolean;
  /** First reconnect delay in ms (default 1000; doubles to 60 s). */
  backoffFirstMs?: number;
  homeDir?: string;
}

/** The options a UI may change while the manager runs (everything but log and prompter). */
export type EngineSettings = Omit<ManagerOptions, 'log' | 'prompter'>;

export interface AddForwardRequest {
  /** An ssh config alias or a destination such as `user@host:2222`. */
  host: string;
  /**
   * The forward: a parsed spec, a flag or config line (`-L 9999:db:5432`, `LocalForward 9999 db:5432`),
   * or a bare value (`9999:db:5432`) together with `kind`.
   */
  spec: ForwardSpec | string;
  kind?: ForwardKind;
  label?: string;
  /** The user confirmed a non-loopback listener (GatewayPorts / -g). */
  allowNonLoopback?: boolean;
  /** Start right away (default true). */
  start?: boolean;
  /** Keep a caller-chosen id (saved tunnels). */
  id?: string;
}

interface HostRecord {
  alias: string;
  session: SshSession;
  forwards: Forward[];
  /** Held while the user asked to stay connected without forwards. */
  pin: Disposable | undefined;
  subs: Disposable[];
}

export class TunnelManager implements Disposable {
  private opts: ManagerOptions;
  private readonly log: Log;
  private config: SshConfig;
  private readonly hosts = new Map<string, HostRecord>();
  private readonly changeEmitter = new Emitter<ManagerSnapshot>();
  private changeScheduled = false;
  private lastChangeAt = 0;
  private disposed = false;

  /**
   * Fires whenever anything a UI shows changed: at once after a quiet spell, then at most every
   * CHANGE_INTERVAL_MS while changes keep coming (a burst of connections is one snapshot, not one
   * per connection: each snapshot lists every live connection and goes to the UI thread).
   */
  readonly onDidChange = this.changeEmitter.event;

  constructor(opts: ManagerOptions) {
    this.opts = opts;
    this.log = opts.log;
    this.config = this.loadConfig();
  }

  private loadConfig(): SshConfig {
    const config = loadSshConfig({ path: this.opts.configFile, homeDir: this.opts.homeDir });
    for (const p of config.problems) this.log.error(`${p.file} line ${p.line}: ${p.message}`);
    return config;
  }

  /** Hosts named in the ssh config, for pick lists. */
  configuredHosts(): ConfiguredHost[] {
    return this.config.hosts;
  }

  configProblems(): ConfigProblem[] {
    return this.config.problems;
  }

  /** Re-reads the ssh config; sessions that are up keep their settings until they reconnect. */
  reloadConfig(): void {
    this.config = this.loadConfig();
    for (const [key, rec] of this.hosts) {
      if (rec.forwards.length === 0 && !rec.pin) {
        rec.subs.forEach((s) => s.dispose());
        rec.session.dispose();
        this.hosts.delete(key);
      }
    }
    this.changed();
  }

  /**
   * Applies changed settings: the ssh config is re-read and new connections use them; connections
   * that are up keep theirs until they reconnect. Returns whether anything changed.
   */
  updateOptions(settings: EngineSettings): boolean {
    const keys = Object.keys(settings) as (keyof EngineSettings)[];
    if (!keys.some((k) => this.opts[k] !== settings[k])) return false;
    this.opts = { ...this.opts, ...settings };
    this.reloadConfig();
    return true;
  }

  /** The effective settings for a host, like `ssh -G`. Throws a TunnelError for a bad destination. */
  resolveHost(host: string): ResolvedHost {
    return resolveHostSettings(this.config, host, this.opts);
  }

  private hostRecord(alias: string): HostRecord {
    let rec = this.hosts.get(alias);
    if (rec) return rec;
    const session = new SshSession({
      host: this.resolveHost(alias),
      resolveHop: (hop) => this.resolveHost(hop),
      log: this.log,
      prompter: this.opts.prompter,
      reconnect: this.opts.reconnect,
      backoffFirstMs: this.opts.backoffFirstMs,
    });
    rec = { alias, session, forwards: [], pin: undefined, subs: [session.onChange(() => this.changed())] };
    this.hosts.set(alias, rec);
    return rec;
  }

  /**
   * Adds a forward (and by default starts it). Resolves with its snapshot — in `error` state, with
   * the reason, when it could not start. Rejects only for bad input (spec or destination).
   */
  async addForward(req: AddForwardRequest): Promise<ForwardSnapshot> {
    if (this.disposed) throw new TunnelError('The tunnel manager was disposed.', true);
    const { host, spec } = admitForward(req, [...this.hosts.values()].flatMap((r) => r.forwards));
    const rec = this.hostRecord(host);
    const options: ForwardOptions = {
      id: req.id ?? randomUUID(),
      host,
      spec,
      label: req.label,
      allowNonLoopback: req.allowNonLoopback,
      session: rec.session,
      log: this.log,
    };
    const forward = spec.kind === 'local' ? new LocalForward(options) : spec.kind === 'remote' ? new RemoteForward(options) : new DynamicForward(options);
    forward.onChange(() => this.changed());
    rec.forwards.push(forward);
    this.changed();
    if (req.start !== false) await this.start(forward);
    return forward.snapshot();
  }

  /** Starts a forward unless one of ours already listens on its port (that would only say "in use by us"). */
  private async start(forward: Forward): Promise<void> {
    if (forward.active) return;
    const port = forward.spec.bindPort;
    const clash = port === 0 ? undefined : [...this.hosts.values()].flatMap((r) => r.forwards).find((f) =>
      f !== forward && f.active && f.spec.bindPort === port &&
      (forward.spec.kind === 'remote' ? f.spec.kind === 'remote' && f.host === forward.host : f.spec.kind !== 'remote'));
    if (clash) {
      forward.fail(new TunnelError(
        `Port ${port} is already used by your tunnel ${clash.label ? `"${clash.label}" (${clash.sshFlag})` : clash.sshFlag} on ${clash.host}. Stop that tunnel, or pick another port.`,
        true, 'PORT_USED_BY_TUNNEL'));
      return;
    }
    await forward.start().catch(() => undefined);
  }

  private find(id: string): { rec: HostRecord; forward: Forward } | undefined {
    for (const rec of this.hosts.values()) {
      const forward = rec.forwards.find((f) => f.id === id);
      if (forward) return { rec, forward };
    }
    return undefined;
  }

  private get(id: string): { rec: HostRecord; forward: Forward } {
    const found = this.find(id);
    if (!found) throw new TunnelError(`No tunnel with id ${id}.`, true, 'NOT_FOUND');
    return found;
  }

  /** Starts a forward; resolves with its snapshot (state `error` with the reason on failure). */
  async startForward(id: string): Promise<ForwardSnapshot> {
    const { forward } = this.get(id);
    await this.start(forward);
    return forward.snapshot();
  }

  async stopForward(id: string): Promise<ForwardSnapshot> {
    const { forward } = this.get(id);
    await forward.stop();
    return forward.snapshot();
  }

  async toggleForward(id: string): Promise<ForwardSnapshot> {
    const { forward } = this.get(id);
    return forward.active ? this.stopForward(id) : this.startForward(id);
  }

  async removeForward(id: string): Promise<void> {
    const { rec, forward } = this.get(id);
    await forward.stop();
    forward.dispose();
    rec.forwards = rec.forwards.filter((f) => f !== forward);
    this.changed();
  }

  /** Renames a forward (the label shown in the tree). */
  setLabel(id: string, label: string | undefined): ForwardSnapshot {
    const { forward } = this.get(id);
    forward.label = label || undefined;
    this.changed();
    return forward.snapshot();
  }

  closeConnection(forwardId: string, connectionId: number): boolean {
    return this.get(forwardId).forward.closeConnection(connectionId);
  }

  /** Connects a host and keeps it connected (with reconnects) until `disconnectHost`. */
  async connectHost(host: string): Promise<HostSnapshot> {
    const rec = this.hostRecord(host.trim());
    rec.pin ??= rec.session.retain();
    try {
      await rec.session.connect();
    } catch (err) {
      if ((err as TunnelError).fatal) {
        rec.pin?.dispose();
        rec.pin = undefined;
      }
    }
    return this.hostSnapshot(rec);
  }

  /** Stops every forward of a host and closes its connection. */
  async disconnectHost(host: string): Promise<void> {
    const rec = this.hosts.get(host.trim());
    if (!rec) return;
    await Promise.all(rec.forwards.map((f) => f.stop()));
    rec.pin?.dispose();
    rec.pin = undefined;
    this.changed();
  }

  /** Skips every reconnect wait (the machine woke up, the network came back). */
  retryNow(): void {
    for (const rec of this.hosts.values()) rec.session.retryNow();
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.hosts.values()].flatMap((rec) => rec.forwards.map((f) => f.stop())));
    for (const rec of this.hosts.values()) {
      rec.pin?.dispose();
      rec.pin = undefined;
    }
    this.changed();
  }

  private hostSnapshot(rec: HostRecord): HostSnapshot {
    const s = rec.session;
    return {
      alias: rec.alias,
      hostName: s.host.hostName,
      user: s.host.user,
      port: s.host.port,
      state: s.state,
      error: s.error,
      since: s.since,
      nextAttemptAt: s.nextAttemptAt,
      attempt: s.attempt,
      forwards: rec.forwards.map((f) => f.snapshot()),
    };
  }

  snapshot(): ManagerSnapshot {
    return { hosts: [...this.hosts.values()].map((rec) => this.hostSnapshot(rec)) };
  }

  forwardSnapshot(id: string): ForwardSnapshot {
    return this.get(id).forward.snapshot();
  }

  private changed(): void {
    if (this.changeScheduled || this.disposed) return;
    this.changeScheduled = true;
    const fire = (): void => {
      this.changeScheduled = false;
      if (this.disposed) return;
      this.lastChangeAt = performance.now();
      this.changeEmitter.fire(this.snapshot());
    };
    const wait = this.lastChangeAt + CHANGE_INTERVAL_MS - performance.now();
    if (wait <= 0) setImmediate(fire);
    else setTimeout(fire, wait).unref();
  }

  /** Stops every forward, closes every session and timer. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    await this.stopAll();
    this.disposed = true;
    for (const rec of this.hosts.values()) {
      rec.forwards.forEach((f) => f.dispose());
      rec.subs.forEach((s) => s.dispose());
      rec.session.dispose();
    }
    this.hosts.clear();
    this.changeEmitter.dispose();
  }
}
