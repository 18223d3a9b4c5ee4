/**
 * Where EngineClient runs the engine (the script clientChannel.ts connects): a child process
 * (`fork`, the default) or a worker thread of the calling process. Both speak the same messages
 * (protocol.ts, structured clone); this hides which one it is.
 *
 * Why a process by default (bench/README.md, change 22): VS Code's remote extension hosts
 * (code-server, Remote-SSH, WSL, containers) fork themselves every 2-3 s to look for ports to
 * forward, and every extension that spawns a tool (git, a language server) forks the extension
 * host too. After each fork every page the process writes faults once (copy-on-write); an engine
 * thread inside the extension host writes tens of MB per second of buffers, so it paid 20-47
 * thousand page faults per 256 MiB and about twice the CPU per GB of the same engine in a process
 * of its own, which VS Code does not fork.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { engineTunables } from './mallocTunables';
import type { FromWorker, ToWorker, WorkerInit } from './protocol';

export type Isolation = 'process' | 'worker';

/** How the engine ended: a failure (with its reason) or an exit. */
export interface EngineEnd {
  /** Why it failed: an error it could not start with, or the fatal error it printed. */
  crash?: Error;
  code: number | null;
  signal?: NodeJS.Signals | null;
}

export interface EngineRunner {
  post(message: ToWorker): void;
  /** Messages from the engine, in the order it sent them. */
  onMessage(listener: (message: FromWorker) => void): void;
  /** Once, after every message the engine sent before it ended. */
  onEnd(listener: (end: EngineEnd) => void): void;
  /** Ends the engine if it has not ended (it ends by itself after `dispose`). */
  terminate(): Promise<void>;
}

/** How long a child process has to end by itself once its channel is closed, before it is killed. */
const EXIT_GRACE_MS = 2000;

/** How the engine is started, beyond where it runs. */
export interface RunnerOptions {
  /** With isolation 'worker': more options for the Worker (resourceLimits, ...). */
  workerOptions?: WorkerOptions;
  /** With isolation 'process': Node and V8 flags for the engine process. */
  processArgs?: string[];
  /**
   * With isolation 'process': a directory of this user's own where Node (22.1 and later) keeps the
   * engine script's compiled code between starts (NODE_COMPILE_CACHE); older Nodes ignore it.
   */
  compileCacheDir?: string;
}

export function startEngineRunner(isolation: Isolation, script: string, init: WorkerInit, options: RunnerOptions = {}): EngineRunner {
  return isolation === 'worker' ? workerRunner(script, init, options.workerOptions) : processRunner(script, init, options);
}

function workerRunner(script: string, init: WorkerInit, options: WorkerOptions | undefined): EngineRunner {
  const worker = new Worker(script, { ...options, workerData: init });
  // 'error' (an exception that ended the thread, or a script that cannot load) can overtake the
  // messages the worker posted before it; 'exit' comes after them.
  let crash: Error | undefined;
  worker.on('error', (err) => { crash = err; });
  return {
    post: (m) => worker.postMessage(m),
    onMessage: (l) => { worker.on('message', l); },
    onEnd: (l) => { worker.once('exit', (code) => l({ crash, code })); },
    terminate: async () => { await worker.terminate(); },
  };
}

function processRunner(script: string, init: WorkerInit, options: RunnerOptions): EngineRunner {
  const child: ChildProcess = fork(script, [], {
    // Not the extension host's own flags (an inspector port, Electron's); under Electron (VS Code
    // desktop) process.execPath is Electron itself, which runs as plain Node with this variable.
    execArgv: options.processArgs ?? [],
    env: {
      ...process.env,
      ELECTRON_RUN_AS_NODE: '1',
      // glibc keeps freed buffers for the next ones (mallocTunables.ts).
      GLIBC_TUNABLES: engineTunables(process.env.GLIBC_TUNABLES),
      // Not the user's own cache for their Node programs: ours, or none.
      NODE_COMPILE_CACHE: options.compileCacheDir,
    },
    serialization: 'advanced',
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  // What the process printed last: a script that cannot load, or V8's fatal error, says why there.
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => { stderr = (stderr + d).slice(-16_384); });
  child.stderr!.on('error', () => undefined);
  let spawnError: Error | undefined;
  const ended = new Promise<EngineEnd>((resolve) => {
    // After the exit, the IPC channel's end and stderr's: then every message and line the process
    // sent has arrived. (Not 'close', which never comes when both sides disconnect at once.)
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let disconnected = false;
    let stderrClosed = false;
    const settle = (): void => {
      if (exit && disconnected && stderrClosed) resolve({ crash: spawnError ?? printedError(stderr), ...exit });
    };
    child.once('exit', (code, signal) => { exit = { code, signal }; settle(); });
    child.once('disconnect', () => { disconnected = true; settle(); });
    child.stderr!.once('close', () => { stderrClosed = true; settle(); });
    child.on('error', (err) => {
      spawnError ??= err;
      // Never started (no process): none of the above will come.
      if (child.pid === undefined) resolve({ crash: err, code: null, signal: null });
    });
  });
  child.send({ type: 'init', init }, undefined, undefined, () => undefined);
  return {
    post: (m) => { if (child.connected) child.send(m, undefined, undefined, () => undefined); },
    onMessage: (l) => { child.on('message', l as (m: unknown) => void); },
    onEnd: (l) => { void ended.then(l); },
    terminate: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      if (child.connected) child.disconnect();
      const timer = setTimeout(() => child.kill('SIGKILL'), EXIT_GRACE_MS);
      await ended;
      clearTimeout(timer);
    },
  };
}

/** The error a Node process printed before it died: `Error: Cannot find module …`, `FATAL ERROR: …`. */
function printedError(stderr: string): Error | undefined {
  const lines = stderr.split('\n').map((l) => l.trim());
  const fatal = lines.find((l) => l.startsWith('FATAL ERROR: '));
  if (fatal) return new Error(fatal.slice('FATAL ERROR: '.length));
  const thrown = lines.find((l) => /^[A-Za-z]*Error(?: \[[A-Z_]+\])?: /.test(l));
  return thrown ? new Error(thrown.replace(/^[A-Za-z]+(?: \[[A-Z_]+\])?: /, '')) : undefined;
}
