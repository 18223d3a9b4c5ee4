/**
 * The engine's side of the worker boundary: a TunnelManager driven by messages from EngineClient.
 * Log lines and prompts go back to the client thread (which owns the UI); snapshots are sent on
 * every change and with every reply, so the client's cached snapshot is never older than a reply.
 */
import { TunnelError } from '../errors';
import { Log } from '../log';
import type { Prompter } from '../model';
import { TunnelManager } from '../tunnelManager';
import { LogBatcher } from './logBatcher';
import type { CommandName, FromWorker, PlainManagerOptions, PromptKind, SerializedError, ToWorker, WorkerInit } from './protocol';

/** The part of a MessagePort (or worker_threads parentPort) this needs. */
export interface Port {
  postMessage(message: FromWorker): void;
  on(event: 'message', listener: (message: ToWorker) => void): unknown;
}

function serializeError(err: unknown): SerializedError {
  if (err instanceof TunnelError) return { name: err.name, message: err.message, fatal: err.fatal, code: err.code };
  const e = err as Error;
  return { name: e?.name ?? 'Error', message: e?.message ?? String(err) };
}

/** What startEngineWorker runs: the manager, its log, and a way to send the log lines still batched. */
export interface EngineWorker {
  manager: TunnelManager;
  log: Log;
  flushLog(): void;
}

/**
 * The worker thread's whole life (workerMain.ts): the engine behind `parentPort`, the port closed
 * on dispose, and the log lines still batched sent when the thread exits — also when it dies of
 * an uncaught exception, so the lines leading up to it reach the log before the error does.
 */
export function runEngineWorker(port: Port & { close(): void }, init: WorkerInit): EngineWorker {
  const worker = startEngineWorker(port, init, () => port.close());
  process.once('exit', () => worker.flushLog());
  return worker;
}

/** Runs a TunnelManager behind `port`. Calls onDisposed after the reply to `dispose`. */
export function startEngineWorker(port: Port, init: WorkerInit, onDisposed?: () => void): EngineWorker {
  const log = new Log(init.logLevel);
  const out = new LogBatcher(port);
  log.onLine((line) => out.line(line));

  let nextPrompt = 1;
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const ask = <T>(kind: PromptKind, request: unknown): Promise<T> => new Promise<T>((resolve, reject) => {
    const id = nextPrompt++;
    waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
    out.post({ type: 'prompt', id, kind, request });
  });
  const prompter: Prompter = {
    password: (req) => ask('password', req),
    passphrase: (req) => ask('passphrase', req),
    keyboardInteractive: (req) => ask('keyboardInteractive', req),
    confirmHostKey: (req) => ask('confirmHostKey', req),
  };

  // One options object for the manager's whole life: updates are assigned into it, as the
  // extension does with its own ManagerOptions object.
  const options = { ...init.options, log, prompter };
  const manager = new TunnelManager(options);
  const applyOptions = (o: PlainManagerOptions | undefined): void => {
    if (!o) return;
    for (const k of Object.keys(options) as Array<keyof typeof options>) {
      if (k !== 'log' && k !== 'prompter' && !(k in o)) delete options[k];
    }
    Object.assign(options, o);
  };

  manager.onDidChange((snapshot) => out.post({ type: 'change', snapshot }));

  const run = async (name: CommandName, args: unknown[]): Promise<unknown> =>
    (manager as unknown as Record<CommandName, (...a: unknown[]) => unknown>)[name].apply(manager, args);

  port.on('message', (msg: ToWorker) => {
    switch (msg.type) {
      case 'logLevel':
        log.level = msg.level;
        return;
      case 'answer': {
        const w = waiting.get(msg.id);
        waiting.delete(msg.id);
        if (msg.error !== undefined) w?.reject(new Error(msg.error));
        else w?.resolve(msg.value);
        return;
      }
      case 'command': {
        applyOptions(msg.options);
        Promise.resolve()
          .then(() => run(msg.name, msg.args))
          .then(
            (value) => out.post({ type: 'reply', id: msg.id, value, snapshot: manager.snapshot() }),
            (err: unknown) => out.post({ type: 'reply', id: msg.id, error: serializeError(err), snapshot: manager.snapshot() }),
          )
          .finally(() => { if (msg.name === 'dispose') onDisposed?.(); });
        return;
      }
    }
  });
  out.post({ type: 'ready', snapshot: manager.snapshot() });
  return { manager, log, flushLog: () => out.flush() };
}
