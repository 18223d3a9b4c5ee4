/**
 * The two forwarders under test, each a separate process: OpenSSH's `ssh` client and this
 * extension's engine (bundled as shipped) in out/bench/engineHost.js.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { isBound } from '../../test/fixtures/servers';
import { echoOnce } from './load';

export const SSH_PATH = '/usr/bin/ssh';

export interface ForwardSet {
  /** ssh config alias (one per cipher). */
  host: string;
  /** OpenSSH flags, e.g. `-L 127.0.0.1:4000:127.0.0.1:5000`. */
  flags: string[];
  /** Ports that must be bound (locally or by sshd) before the forwarder counts as ready. */
  ports: number[];
}

export interface Forwarder {
  readonly name: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** Every forwarder process still running, so that an interrupted bench can stop them (see killAllNow). */
const live = new Set<ChildProcess>();

function track(child: ChildProcess): ChildProcess {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/**
 * A measuring device for scale in a process of its own, which reports its port over IPC once
 * listening: Node's bare echo server (nodeEcho.js) or a bare ssh2 forwarder (ssh2Floor.js).
 */
export async function startDevice(script: string, args: string[] = []): Promise<{ port: number; pid: number; stop(): void }> {
  const child = track(fork(path.join(path.dirname(process.argv[1]!), script), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (p) => resolve(p as number));
    child.once('exit', (code) => reject(new Error(`${script} exited (${code}) before it listened`)));
  });
  return { port, pid: child.pid!, stop: () => { child.kill('SIGTERM'); } };
}

/** SIGTERM to every forwarder process still running (for signal handlers: synchronous). */
export function killAllNow(): void {
  for (const c of live) {
    try { process.kill(c.pid!, 'SIGTERM'); } catch { /* gone */ }
  }
}

/**
 * Ctrl-C or SIGTERM to a bench script: stop its forwarders now; the sshd fixture's own handler
 * then stops sshd, and the signal, sent again once no handler is left, ends the process.
 */
export function stopForwardersOnSignal(log: (line: string) => void = () => undefined): void {
  const onSignal = (sig: NodeJS.Signals): void => {
    log(`${sig}: stopping forwarders`);
    killAllNow();
    process.removeListener(sig, onSignal);
    if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

async function waitFor(what: string, cond: () => boolean, timeoutMs: number, alive: () => boolean): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (!alive()) throw new Error(`${what}: process exited`);
    if (Date.now() > end) throw new Error(`${what}: timed out after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
  });
}

async function stopChild(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = exited(child);
  try { process.kill(child.pid!, 'SIGTERM'); } catch { /* gone */ }
  const timer = new Promise<'t'>((r) => setTimeout(() => r('t'), graceMs).unref());
  if ((await Promise.race([gone.then(() => 'g' as const), timer])) === 't') {
    try { process.kill(child.pid!, 'SIGKILL'); } catch { /* gone */ }
    await gone;
  }
}

/** One `ssh -N` per forward set (i.e. per host/cipher), like a user running ssh -L/-R/-D. */
export class OpenSshForwarder implements Forwarder {
  readonly name = 'openssh';
  private constructor(private readonly children: ChildProcess[], private readonly byHost: Map<string, ChildProcess>) {}

  get pid(): number { return this.children[0]?.pid ?? -1; }
  pidFor(host: string): number { return this.byHost.get(host)?.pid ?? -1; }
  get pids(): number[] { return this.children.map((c) => c.pid!); }

  static async start(configFile: string, sets: ForwardSet[], extraArgs: string[] = []): Promise<OpenSshForwarder> {
    const children: ChildProcess[] = [];
    const byHost = new Map<string, ChildProcess>();
    const f = new OpenSshForwarder(children, byHost);
    try {
      for (const set of sets) {
        const args = ['-F', configFile, '-N', '-o', 'ExitOnForwardFailure=yes', '-o', 'BatchMode=yes', ...extraArgs,
          ...set.flags.flatMap((fl) => [fl.slice(0, 2), fl.slice(2).trim()]), set.host];
        const child = track(spawn(SSH_PATH, args, { stdio: ['ignore', 'ignore', 'pipe'] }));
        let stderr = '';
        child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
        children.push(child);
        byHost.set(set.host, child);
        const alive = (): boolean => child.exitCode === null && child.signalCode === null;
        await waitFor(`ssh ${set.host}`, () => set.ports.every(isBound), 15_000, alive).catch((e: Error) => {
          throw new Error(`${e.message}\n${stderr}`);
        });
      }
    } catch (e) {
      await f.stop();
      throw e;
    }
    return f;
  }

  async stop(): Promise<void> {
    await Promise.all(this.children.map((c) => stopChild(c)));
  }
}

/**
 * A user typing `ssh -N -L port:…` and waiting for it to work: ms from spawning ssh until a 1-byte
 * echo has come back through `port` (tried every 2 ms: ssh listens once it has authenticated).
 * ssh is stopped after.
 */
export async function openSshTunnelUp(configFile: string, host: string, flag: string, port: number, extraArgs: string[] = []): Promise<number> {
  const t0 = performance.now();
  const child = track(spawn(SSH_PATH, ['-F', configFile, '-N', '-o', 'ExitOnForwardFailure=yes', '-o', 'BatchMode=yes', ...extraArgs,
    flag.slice(0, 2), flag.slice(2).trim(), host], { stdio: ['ignore', 'ignore', 'pipe'] }));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  try {
    const end = Date.now() + 15_000;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`ssh ${host} exited: ${stderr}`);
      if (Date.now() > end) throw new Error(`ssh ${host}: no echo through port ${port} within 15 s\n${stderr}`);
      if (await echoOnce({ port }).then(() => true, () => false)) return performance.now() - t0;
      await new Promise((r) => setTimeout(r, 2));
    }
  } finally {
    await stopChild(child);
  }
}

export interface EngineHostOptions {
  name: string;
  configFile: string;
  homeDir: string;
  /** 'thread': TunnelManager on the host's main thread; 'client': EngineClient, the engine off that thread (as the extension ships it). */
  mode?: 'thread' | 'client';
  execArgv?: string[];
  logLevel?: string;
  /** Another engine bundle to load instead of out/bench/engine.js (A/B comparisons). */
  bundle?: string;
  /** 'client' mode: more EngineClient options (A/B of `isolation`, `workerOptions`). */
  clientOptions?: Record<string, unknown>;
}

/** The bundled engine in its own node process (standing in for the extension host). */
export class EngineForwarder implements Forwarder {
  readonly name: string;
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  initInfo: { requireMs: number; constructMs: number; readyMs: number } | undefined;

  private constructor(private readonly child: ChildProcess, name: string) {
    this.name = name;
    child.on('message', (m: { id?: number; result?: unknown; error?: string }) => {
      if (m.id === undefined) return;
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.error !== undefined) p.reject(new Error(m.error));
      else p.resolve(m.result);
    });
    child.on('exit', () => {
      for (const p of this.pending.values()) p.reject(new Error(`${name}: engine host exited`));
      this.pending.clear();
    });
  }

  get pid(): number { return this.child.pid ?? -1; }

  static async start(opts: EngineHostOptions): Promise<EngineForwarder> {
    const outDir = path.dirname(process.argv[1]!);
    const child = track(fork(path.join(outDir, 'engineHost.js'), [], {
      // BENCH_ENGINE_NODE: another Node for the engine hosts (and the engine processes they fork), e.g. code-server's.
      execPath: process.env.BENCH_ENGINE_NODE || process.execPath,
      env: {
        ...process.env,
        BENCH_ENGINE_BUNDLE: opts.bundle ? path.resolve(opts.bundle) : path.join(outDir, opts.mode === 'client' ? 'client.js' : 'engine.js'),
        BENCH_ENGINE_WORKER: path.join(outDir, 'engineWorker.js'),
      },
      execArgv: opts.execArgv ?? [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }));
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`engine host exited (${code}) before it was ready`)));
    });
    const f = new EngineForwarder(child, opts.name);
    f.initInfo = await f.call('init', { configFile: opts.configFile, homeDir: opts.homeDir, mode: opts.mode ?? 'thread', logLevel: opts.logLevel, clientOptions: opts.clientOptions }) as EngineForwarder['initInfo'];
    return f;
  }

  call(op: string, args: Record<string, unknown> = {}, timeoutMs = 60_000): Promise<unknown> {
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.pending.delete(id); reject(new Error(`${this.name}: ${op} timed out`)); }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => { clearTimeout(timer); resolve(v); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      });
      this.child.send({ id, op, ...args });
    });
  }

  /** Adds every forward of the sets and waits until all are listening. */
  async addForwards(sets: ForwardSet[]): Promise<void> {
    for (const set of sets) {
      for (const flag of set.flags) {
        const snap = await this.call('add', { req: { host: set.host, spec: flag } }) as { state: string; error?: string; sshFlag: string };
        if (snap.state !== 'listening') throw new Error(`${this.name}: ${flag} on ${set.host} is ${snap.state}: ${snap.error ?? ''}`);
      }
      await waitFor(`${this.name} ${set.host}`, () => set.ports.every(isBound), 15_000, () => this.child.exitCode === null);
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const gone = exited(this.child);
    await this.call('dispose', {}, 10_000).catch(() => undefined);
    const timer = new Promise<'t'>((r) => setTimeout(() => r('t'), 5000).unref());
    if ((await Promise.race([gone.then(() => 'g' as const), timer])) === 't') await stopChild(this.child);
  }
}
