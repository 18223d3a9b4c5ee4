/**
 * TunnelManager's surface, with the engine running outside the extension host's thread — in a
 * child process of its own by default, or in a worker thread (engineRunner.ts says why a process):
 * every byte a forward moves (and ssh2's pure-JS crypto for it) costs time there instead of on the
 * extension host's thread. Commands are posted to the engine; snapshots come back on every change
 * and with every reply, so the synchronous reads (`snapshot()`, `forwardSnapshot()`) answer from a
 * cache that is never older than the last reply. Config reads (`configuredHosts()`,
 * `resolveHost()`, ...) are answered on this thread from the same ssh config. Log lines and
 * prompts come back to the caller's Log and Prompter.
 *
 * The engine starts with the first command that needs it (a tunnel started or a host connected),
 * not with the client: until then nothing runs, and VS Code's startup does not pay for loading the
 * engine in a window where no tunnel is used. Stopped tunnels added before then (the saved ones,
 * when a window opens) are checked and kept here (addStopped), and given to the engine when it starts.
 *
 * The engine logs an exception nothing caught and carries on. If it ends anyway (out of memory,
 * process.exit in a dependency, killed), its tunnels are gone: the client says so in the log,
 * starts a new engine and adds the same tunnels to it (see ended()); a crash loop stops after
 * MAX_RESTARTS, with every tunnel showing the error. An engine process exits by itself when its
 * client goes away (clientChannel.ts).
 *
 * An engine with nothing to do — no tunnel running or failed, no host connected, no command or
 * question open — for IDLE_EXIT_MS is ended, to give back the memory its transfers grew (tens to
 * hundreds of MB, which V8 and glibc keep). The tree goes on showing its stopped tunnels from the
 * cache, and the next command starts a new engine and gives it those tunnels first (as after a
 * crash, see restore()), so nothing the user sees changes but that start: ~0.1 s slower.
 *
 * Wiring (extension): bundle src/core/worker/workerMain.ts as a second esbuild entry point
 * (dist/engineWorker.js) and construct `new EngineClient({ ...managerOptions, workerPath:
 * path.join(__dirname, 'engineWorker.js') })` where the extension now constructs TunnelManager.
 */
import { randomUUID } from 'node:crypto';
import type { WorkerOptions } from 'node:worker_threads';
import { Emitter, type Disposable } from '../emitter';
import { TunnelError } from '../errors';
import { admitForward } from '../forwardRequest';
import { formatForwardFlag } from '../forwardSpec';
import { allForwards, isActive, type ForwardSnapshot, type HostSnapshot, type ManagerSnapshot, type Prompter } from '../model';
import { loadSshConfig, type ConfigProblem, type ConfiguredHost, type ResolvedHost, type SshConfig } from '../sshConfig';
import type { Engine } from '../engine';
import { resolveHostSettings } from '../hostSettings';
// Types only: the engine itself (TunnelManager, ssh2) is loaded where it runs, not on this thread.
import type { AddForwardRequest, EngineSettings, ManagerOptions } from '../tunnelManager';
import { startEngineRunner, type EngineRunner, type Isolation } from './engineRunner';
import type { CommandName, FromWorker, PlainManagerOptions, SerializedError, ToWorker, WorkerInit } from './protocol';

export interface EngineClientOptions extends ManagerOptions {
  /** The engine script: src/core/worker/workerMain.ts, bundled (or compiled). */
  workerPath: string;
  /** Where the engine runs: a child process of its own (default) or a worker thread of this process (engineRunner.ts). */
  isolation?: Isolation;
  /** With isolation 'worker': more options for the Worker (resourceLimits, ...). */
  workerOptions?: WorkerOptions;
  /** With isolation 'process': Node and V8 flags for the engine process (the bench's A/Bs of V8 flags). */
  processArgs?: string[];
  /** With isolation 'process': where the engine process keeps its compiled code between starts (engineRunner.ts). */
  compileCacheDir?: string;
  /** How long an engine with nothing to do runs before it is ended (ms; default IDLE_EXIT_MS; 0: never). */
  idleExitMs?: number;
}

const CLIENT_ONLY = new Set(['log', 'prompter', 'workerPath', 'isolation', 'workerOptions', 'processArgs', 'compileCacheDir', 'idleExitMs']);

/** An engine with nothing to do is ended after this long (see the class comment). */
export const IDLE_EXIT_MS = 5 * 60_000;

/**
 * An engine that ended after it had started is started again with its tunnels, up to
 * MAX_RESTARTS times within RESTART_WINDOW_MS; one more and it stays stopped (a crash loop would
 * otherwise keep re-running whatever ends it).
 */
export const MAX_RESTARTS = 3;
export const RESTART_WINDOW_MS = 5 * 60_000;
const RELOAD = 'reload the window (Developer: Reload Window) to start it again';
const LOG_PREFIX = /^debug[123]: /;

function toError(e: SerializedError): Error {
  if (e.fatal !== undefined) return new TunnelError(e.message, e.fatal, e.code);
  const err = new Error(e.message);
  err.name = e.name;
  return err;
}

export class EngineClient implements Engine, Disposable {
  private readonly opts: EngineClientOptions;
  private runner: EngineRunner | undefined;
  /** Answers config questions on this thread; read on the first question, not at construction. */
  private configCache: SshConfig | undefined;
  private last: ManagerSnapshot = { hosts: [] };
  /** The engine's last snapshot as it sent it (`last` adds what a restart is still restoring). */
  private fromEngine: ManagerSnapshot = { hosts: [] };
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  /** The engine's open questions to the Prompter, by the engine's prompt id. */
  private readonly prompts = new Map<number, AbortController>();
  private sentOptions = '';
  private dead: Error | undefined;
  private disposed = false;
  /** When the engine was started again after its thread ended (within RESTART_WINDOW_MS). */
  private restarts: number[] = [];
  /** Counts the engine's starts after an end: a restore for an engine that ended again stops. */
  private generation = 0;
  /** While a restarted engine is given its tunnels back: the ones it does not have yet, as shown. */
  private restoring: ManagerSnapshot | undefined;
  /** While no engine runs, the stopped tunnels shown (an idle engine's, or added since): the next engine is given them first. */
  private retired: ManagerSnapshot | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private changeScheduled = false;
  private readonly changeEmitter = new Emitter<ManagerSnapshot>();
  /** The log's level is set by the UI (e.g. the output channel's level): changes are passed on. */
  private readonly logLevelFollower: { dispose(): void };

  /** Fires whenever anything a UI shows changed (with the new snapshot). */
  readonly onDidChange = this.changeEmitter.event;
  private readyPromise: Promise<void> | undefined;

  constructor(opts: EngineClientOptions) {
    this.opts = opts;
    // An engine not started yet gets the level it starts with.
    this.logLevelFollower = opts.log.onLevel((level) => {
      if (this.runner) this.post({ type: 'logLevel', level });
    });
  }

  /** True while an engine runs (started by the first command that needs it, until it ends). */
  get started(): boolean {
    return this.runner !== undefined;
  }

  /**
   * Starts the engine if it is not running yet; resolves once it has loaded. Commands
   * start it themselves (and simply wait for it): this is for callers that want it warm.
   */
  start(): Promise<void> {
    if (this.readyPromise) return this.readyPromise;
    if (this.disposed) return Promise.reject(new TunnelError('The tunnel manager was disposed.', true));
    if (this.dead) return Promise.reject(this.dead);
    const options = this.plainOptions();
    this.sentOptions = JSON.stringify(options);
    const init: WorkerInit = { options, logLevel: this.opts.log.level };
    const engine = startEngineRunner(this.opts.isolation ?? 'process', this.opts.workerPath, init, this.opts);
    this.runner = engine;
    const retired = this.retired;
    this.retired = undefined;
    let readyResolve!: () => void;
    let readyReject!: (e: Error) => void;
    this.readyPromise = new Promise<void>((res, rej) => { readyResolve = res; readyReject = rej; });
    this.readyPromise.catch(() => undefined);
    let ready = false;
    engine.onMessage((msg: FromWorker) => {
      // An engine ended for being idle has nothing to say about the tunnels any more; its last log lines still count.
      if (this.runner !== engine && msg.type !== 'log') return;
      if (msg.type === 'ready') {
        ready = true;
        this.last = this.withRestoring(this.fromEngine = msg.snapshot);
        readyResolve();
        this.considerIdle();
      } else {
        this.onMessage(msg);
      }
    });
    // The engine logs an uncaught exception and carries on (runEngineWorker); what still ends it
    // (out of memory, process.exit in a dependency, a kill) ends it here, after its last messages.
    engine.onEnd(({ crash, code, signal }) => {
      const what = crash ? `stopped: ${crash.message}` : signal ? `was ended by ${signal}` : `exited (code ${code})`;
      readyReject(crash ?? new Error(`engine ${what}`));
      if (this.runner !== engine) return;
      // Ended while being disposed (before its reply to `dispose`): nothing more will answer.
      if (this.disposed) return this.rejectPending(new TunnelError('The tunnel manager was disposed.', true));
      this.ended(what, ready);
    });
    // Given before any command (the caller's is posted after this returns), so a command naming one finds it.
    if (retired) {
      this.restoring = retired;
      void this.restore(retired);
    }
    return this.readyPromise;
  }

  /**
   * Starts an engine ahead of a tunnel the user is about to start (Engine.prestart): a new
   * process and its engine take ~40–120 ms that would otherwise come after they press Enter. Left
   * unused, it ends like any idle engine.
   */
  prestart(): void {
    if (this.engineless) this.start().catch(() => undefined);
  }

  /** True when the engine runs and has nothing to do: nothing running, failed, asked or awaited. */
  private get idle(): boolean {
    if (!this.runner || this.disposed || this.dead || this.restoring || this.pending.size || this.prompts.size) return false;
    // A stopped forward and a disconnected host carry no error (a failed one is in state `error`).
    return this.fromEngine.hosts.every((h) => h.state === 'disconnected' && h.forwards.every((f) => f.state === 'stopped'));
  }

  /** (Re)arms the idle timer when the engine has nothing to do; anything it does disarms it. */
  private considerIdle(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const ms = this.opts.idleExitMs ?? IDLE_EXIT_MS;
    if (ms <= 0 || !this.idle) return;
    this.idleTimer = setTimeout(() => this.retire(ms), ms);
    this.idleTimer.unref();
  }

  /** Ends an engine that has been idle for `ms`, keeping what the tree shows for the next one. */
  private retire(ms: number): void {
    this.idleTimer = undefined;
    if (!this.idle) return;
    const runner = this.runner!;
    this.retired = this.last;
    this.runner = undefined;
    this.readyPromise = undefined;
    this.generation++;
    const after = ms % 60_000 === 0 ? `${ms / 60_000} minute${ms === 60_000 ? '' : 's'}` : `${ms / 1000} s`;
    this.opts.log.debug1(`The tunnel engine had nothing to do for ${after}: ended it to give its memory back. The next tunnel started starts it again.`);
    void runner.terminate();
  }

  /**
   * The engine ended by itself. Every tunnel it ran is gone with it: say so, and start
   * the engine again with the same tunnels (same ids, labels and specs; started if they were
   * running) — unless it never got going or ended too often lately, where it stays stopped and
   * every tunnel shows the error.
   */
  private ended(what: string, wasReady: boolean): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    // Ended again while being given its tunnels back: those not started yet must still be.
    const before = this.restoring ?? this.last;
    const now = Date.now();
    this.restarts = this.restarts.filter((t) => now - t < RESTART_WINDOW_MS);
    if (!wasReady || this.restarts.length >= MAX_RESTARTS) {
      const often = this.restarts.length
        ? ` (${this.restarts.length + 1} times in ${RESTART_WINDOW_MS / 60_000} minutes, so it is not started again)`
        : '';
      this.fail(new TunnelError(`The tunnel engine ${what}${often}. Its tunnels are closed; ${RELOAD}.`, true, 'ENGINE_STOPPED'));
      return;
    }
    this.restarts.push(now);
    const count = allForwards(before.hosts).length;
    this.opts.log.error(`The tunnel engine ${what}; its tunnels were closed. Starting it again with ${count === 1 ? 'its tunnel' : `its ${count} tunnels`}.`);
    this.rejectPending(new TunnelError(`The tunnel engine ${what} before answering; it is being started again: try again.`, true, 'ENGINE_RESTARTED'));
    // Its questions die with it (the restarted engine asks again if it needs to).
    this.withdrawPrompts();
    this.runner = undefined;
    this.readyPromise = undefined;
    this.generation++;
    // At once, so that nothing done meanwhile (a listener of the change below) is taken for a time without an engine.
    void this.start();
    // Until the new engine reports, the hosts and tunnels that were up show what is happening.
    const why = `The tunnel engine ${what}; starting it again.`;
    this.showAll(
      before,
      (h) => h.state === 'disconnected' ? {} : { state: 'reconnecting', error: why },
      (f) => isActive(f) ? { state: 'reconnecting', error: why } : {},
    );
    this.restoring = this.last;
    void this.restore(before);
  }

  /**
   * Gives a fresh engine the tunnels of `before`, all at once and each as it was: the engine adds
   * them in this order and starts the ones that were running at once (their hosts connect in
   * parallel), so a running tunnel goes from "reconnecting" to "starting", never to "stopped".
   */
  private async restore(before: ManagerSnapshot): Promise<void> {
    const generation = this.generation;
    const added = allForwards(before.hosts).map((f) =>
      this.call('addForward', { id: f.id, host: f.host, spec: f.sshFlag, label: f.label, allowNonLoopback: f.allowNonLoopback, start: isActive(f) })
        .catch((err: Error) => {
          // Ended again (a newer restore carries on), stopped for good, or disposed.
          if (generation !== this.generation || this.dead || this.disposed) return;
          this.opts.log.error(`Tunnel ${f.sshFlag} on ${f.host} could not be added to the restarted engine: ${err.message}`);
        }));
    for (const h of before.hosts) {
      const used = h.forwards.some((f) => isActive(f));
      if (!used && (h.state === 'connected' || h.state === 'connecting' || h.state === 'reconnecting')) {
        void this.call('connectHost', h.alias).catch(() => undefined);
      }
    }
    // A start's error shows in the snapshot, as any start's does.
    await Promise.all(added);
    if (generation !== this.generation) return;
    this.restoring = undefined;
    // What could not be added goes from view now (its error is in the log).
    this.last = this.fromEngine;
    if (!this.disposed) this.changeEmitter.fire(this.last);
    this.considerIdle();
  }

  /**
   * A snapshot from the engine, plus (while a restarted engine is given its tunnels back) the
   * hosts and tunnels it does not have yet: the tree keeps showing them, and a command naming
   * one finds it, instead of it vanishing until its turn comes.
   */
  private withRestoring(snapshot: ManagerSnapshot): ManagerSnapshot {
    if (!this.restoring) return snapshot;
    const have = new Set(allForwards(snapshot.hosts).map((f) => f.id));
    const hosts = snapshot.hosts.map((h) => ({ ...h, forwards: [...h.forwards] }));
    for (const r of this.restoring.hosts) {
      const missing = r.forwards.filter((f) => !have.has(f.id));
      const h = hosts.find((x) => x.alias === r.alias);
      if (!h) hosts.push({ ...r, forwards: missing });
      else h.forwards.push(...missing);
    }
    return { hosts };
  }

  /** `snapshot` with every host and forward changed as given (and no live connections), fired as a change. */
  private showAll(
    snapshot: ManagerSnapshot,
    host: (h: HostSnapshot) => Partial<HostSnapshot>,
    forward: (f: ForwardSnapshot) => Partial<ForwardSnapshot>,
  ): void {
    this.last = {
      hosts: snapshot.hosts.map((h) => ({ ...h, ...host(h), forwards: h.forwards.map((f) => ({ ...f, ...forward(f), connections: [] })) })),
    };
    if (!this.disposed) this.changeEmitter.fire(this.last);
  }

  private plainOptions(): PlainManagerOptions {
    const out: Record<string, unknown> = {};
    // for…in: own and inherited keys alike (options objects may delegate).
    for (const k in this.opts) {
      const v = (this.opts as unknown as Record<string, unknown>)[k];
      if (!CLIENT_ONLY.has(k) && typeof v !== 'function' && v !== undefined) out[k] = v;
    }
    return out as PlainManagerOptions;
  }

  private post(msg: ToWorker): void {
    if (this.dead) return;
    if (!this.runner) void this.start();
    this.runner!.post(msg);
  }

  private onMessage(msg: FromWorker): void {
    switch (msg.type) {
      case 'change':
        this.last = this.withRestoring(this.fromEngine = msg.snapshot);
        if (!this.disposed) this.changeEmitter.fire(this.last);
        this.considerIdle();
        return;
      case 'reply': {
        this.last = this.withRestoring(this.fromEngine = msg.snapshot);
        const p = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        if (msg.error) p?.reject(toError(msg.error));
        else p?.resolve(msg.value);
        this.considerIdle();
        return;
      }
      case 'log':
        for (const line of msg.lines) this.opts.log.write(line.level, line.text.replace(LOG_PREFIX, ''));
        return;
      case 'prompt': {
        const prompter = this.opts.prompter as unknown as Record<string, (req: unknown, withdrawn: AbortSignal) => Promise<unknown>>;
        const withdrawn = new AbortController();
        this.prompts.set(msg.id, withdrawn);
        // A withdrawn question's answer goes nowhere: the engine (or the attempt) asking is gone.
        const answer = (a: ToWorker & { type: 'answer' }): void => {
          if (this.prompts.get(msg.id) !== withdrawn) return;
          this.prompts.delete(msg.id);
          this.post(a);
        };
        Promise.resolve()
          .then(() => prompter[msg.kind]!.call(this.opts.prompter, msg.request, withdrawn.signal))
          .then(
            (value) => answer({ type: 'answer', id: msg.id, value }),
            (err: Error) => answer({ type: 'answer', id: msg.id, error: err?.message ?? String(err) }),
          );
        return;
      }
      case 'withdrawPrompt':
        this.withdrawPrompts(msg.id);
        return;
      case 'ready':
        return;
    }
  }

  /** Closes the question the engine asked under `id`, or (no id: the engine is gone) every one. */
  private withdrawPrompts(id?: number): void {
    for (const [k, c] of [...this.prompts]) {
      if (id !== undefined && k !== id) continue;
      this.prompts.delete(k);
      c.abort();
    }
  }

  /** Commands sent to an engine that will never answer them. */
  private rejectPending(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  private fail(err: Error): void {
    if (this.dead) return;
    this.dead = err;
    this.restoring = undefined;
    this.opts.log.error(err.message);
    this.rejectPending(err);
    this.withdrawPrompts();
    // Nothing runs any more: the tree and status bar must not go on showing tunnels as up.
    const shown = { state: 'error', error: err.message } as const;
    this.showAll(this.last, () => shown, () => shown);
  }

  private call<T>(name: CommandName, ...args: unknown[]): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    if (this.disposed && name !== 'dispose') return Promise.reject(new TunnelError('The tunnel manager was disposed.', true));
    const id = ++this.seq;
    const now = JSON.stringify(this.plainOptions());
    const options = now !== this.sentOptions ? JSON.parse(now) as PlainManagerOptions : undefined;
    this.sentOptions = now;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.post({ type: 'command', id, name, args, options });
    });
  }

  private findForward(id: string): ForwardSnapshot | undefined {
    for (const h of this.last.hosts) {
      const f = h.forwards.find((x) => x.id === id);
      if (f) return f;
    }
    return undefined;
  }

  // ------------------------------------------------------------------ TunnelManager's surface

  configuredHosts(): ConfiguredHost[] { return this.config.hosts; }
  configProblems(): ConfigProblem[] { return this.config.problems; }
  /** Like TunnelManager.resolveHost: the ssh config plus this client's current options. */
  resolveHost(host: string): ResolvedHost { return resolveHostSettings(this.config, host, this.opts); }

  /** The engine logs the config's problems; this copy only answers questions. */
  private get config(): SshConfig {
    return (this.configCache ??= loadSshConfig({ path: this.opts.configFile, homeDir: this.opts.homeDir }));
  }

  reloadConfig(): void {
    // Read again on the next question.
    this.configCache = undefined;
    if (this.runner) {
      // The engine re-reads it too; its change event tells the UI.
      void this.call('reloadConfig').catch(() => undefined);
    } else {
      // No engine yet (it reads the config when it starts): tell the UI here, as TunnelManager would.
      this.changedHere();
    }
  }

  /** A change made on this side (no engine runs to report it), told to the UI once the caller's turn ends. */
  private changedHere(): void {
    if (this.changeScheduled) return;
    this.changeScheduled = true;
    setImmediate(() => {
      this.changeScheduled = false;
      if (!this.disposed) this.changeEmitter.fire(this.last);
    });
  }

  /** No engine runs, and none has to for what is shown: every tunnel is stopped, every host disconnected. */
  private get engineless(): boolean {
    return !this.runner && !this.dead && !this.disposed;
  }

  /** What is shown while no engine runs; the next engine is given its tunnels first. */
  private showEngineless(snapshot: ManagerSnapshot): void {
    this.last = this.retired = snapshot;
    this.changedHere();
  }

  /**
   * A stopped tunnel added while no engine runs: checked as the engine checks it
   * (forwardRequest.ts; the host resolved from the same ssh config), shown at once, and given to
   * the engine when a command starts one — a window whose tunnels all stay stopped never does.
   */
  private async addStopped(req: AddForwardRequest): Promise<ForwardSnapshot> {
    const shown = this.last.hosts;
    const { host, spec } = admitForward(req, allForwards(shown));
    const had = shown.find((h) => h.alias === host);
    const now = Date.now();
    let base = had;
    if (!base) {
      const r = this.resolveHost(host);
      base = { alias: host, hostName: r.hostName, user: r.user, port: r.port, state: 'disconnected', since: now, attempt: 0, forwards: [] };
    }
    const f: ForwardSnapshot = {
      id: req.id ?? randomUUID(), host, kind: spec.kind, spec, sshFlag: formatForwardFlag(spec), label: req.label,
      state: 'stopped', since: now, bytesSent: 0, bytesReceived: 0, totalConnections: 0, connections: [],
      allowNonLoopback: req.allowNonLoopback === true,
    };
    const h: HostSnapshot = { ...base, forwards: [...base.forwards, f] };
    this.showEngineless({ hosts: had ? shown.map((x) => (x === had ? h : x)) : [...shown, h] });
    return { ...f };
  }

  /** Changed settings go to the engine with the next command (reloadConfig, sent at once). */
  updateOptions(settings: EngineSettings): boolean {
    const keys = Object.keys(settings) as (keyof EngineSettings)[];
    if (!keys.some((k) => this.opts[k] !== settings[k])) return false;
    Object.assign(this.opts, settings);
    this.reloadConfig();
    return true;
  }

  addForward(req: AddForwardRequest): Promise<ForwardSnapshot> {
    return req.start === false && this.engineless ? this.addStopped(req) : this.call('addForward', req);
  }
  startForward(id: string): Promise<ForwardSnapshot> { return this.call('startForward', id); }
  stopForward(id: string): Promise<ForwardSnapshot> {
    // Without an engine every tunnel is stopped already.
    return this.engineless ? Promise.resolve().then(() => ({ ...this.forwardSnapshot(id) })) : this.call('stopForward', id);
  }
  toggleForward(id: string): Promise<ForwardSnapshot> { return this.call('toggleForward', id); }
  removeForward(id: string): Promise<void> {
    if (!this.engineless) return this.call('removeForward', id);
    return Promise.resolve().then(() => {
      this.forwardSnapshot(id);
      // The host stays listed, as it does in the engine.
      this.showEngineless({ hosts: this.last.hosts.map((h) => ({ ...h, forwards: h.forwards.filter((f) => f.id !== id) })) });
    });
  }
  connectHost(host: string): Promise<HostSnapshot> { return this.call('connectHost', host); }
  disconnectHost(host: string): Promise<void> { return this.engineless ? Promise.resolve() : this.call('disconnectHost', host); }
  stopAll(): Promise<void> { return this.engineless ? Promise.resolve() : this.call('stopAll'); }

  retryNow(): void {
    // Nothing to retry while no engine runs.
    if (this.runner) void this.call('retryNow').catch(() => undefined);
  }

  /** Renames at once in the cached snapshot; the engine follows. */
  setLabel(id: string, label: string | undefined): ForwardSnapshot {
    const f = this.forwardSnapshot(id);
    f.label = label || undefined;
    // Without an engine the shown snapshot is what the next one is given.
    if (this.engineless) this.changedHere();
    else void this.call('setLabel', id, label).catch(() => undefined);
    return { ...f };
  }

  /** True when the connection was known (as of the last snapshot); it closes in the engine. */
  closeConnection(forwardId: string, connectionId: number): boolean {
    const known = this.forwardSnapshot(forwardId).connections.some((c) => c.id === connectionId);
    if (!this.engineless) void this.call('closeConnection', forwardId, connectionId).catch(() => undefined);
    return known;
  }

  snapshot(): ManagerSnapshot { return this.last; }

  forwardSnapshot(id: string): ForwardSnapshot {
    const f = this.findForward(id);
    if (!f) throw new TunnelError(`No tunnel with id ${id}.`, true, 'NOT_FOUND');
    return f;
  }

  /** Stops every forward and session in the engine, then ends it. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    clearTimeout(this.idleTimer);
    if (this.runner) {
      try {
        await this.call('dispose');
      } catch { /* already gone */ }
    }
    this.logLevelFollower.dispose();
    this.changeEmitter.dispose();
    this.withdrawPrompts();
    await this.runner?.terminate();
  }
}
