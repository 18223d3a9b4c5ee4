/**
 * The engine's side of the boundary (in its process or worker thread): a TunnelManager driven by
 * messages from EngineClient.
 * Log lines and prompts go back to the client thread (which owns the UI); snapshots are sent on
 * every change and with every reply, so the client's cached snapshot is never older than a reply.
 */
import { TunnelError } from '../errors';
import { Log } from '../log';
import type { Prompter } from '../model';
import { TunnelManager } from '../tunnelManager';
import { LogBatcher } from './logBatcher';
import type { CommandName, FromWorker, PlainManagerOptions, PromptKind, SerializedError, ToWorker, WorkerInit } from './protocol';

/** The part of a MessagePort (worker_threads' parentPort, or clientChannel's IPC port) this needs. */
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
 * The engine's whole life (workerMain.ts, through clientChannel.ts): the engine behind the port,
 * the port closed on dispose, and the log lines still batched sent when the process (or thread)
 * exits, so the lines leading up to an exit reach the log before the client's error does.
 *
 * An exception nothing caught is logged and the engine carries on (a promise rejected with no
 * handler comes here too: Node raises it as an uncaught exception). That is what VS Code's
 * extension host does for an extension's, so the engine on the extension host's thread would
 * carry on too; a process or worker thread of its own would instead end on it, closing every
 * tunnel of every host because of one bug in one connection's path.
 */
export function runEngineWorker(port: Port & { close(): void }, init: WorkerInit): EngineWorker {
  const worker = startEngineWorker(port, init, () => port.close());
  process.once('exit', () => worker.flushLog());
  process.on('uncaughtException', (err) => reportUnexpected(worker.log, err));
  return worker;
}

/** One error line a user can act on and a maintainer can read, the stack after it. */
function reportUnexpected(log: Log, err: unknown): void {
  const e = err instanceof Error ? err : new Error(String(err));
  log.error(
    `The tunnel engine hit an unexpected error and carries on: ${e.message}. ` +
    'If a tunnel stops carrying data, stop and start it (or reload the window). ' +
    'This is a bug in SSH Tunnels: please report it with this log.',
  );
  const frames = (e.stack ?? '').split('\n').filter((l) => /^\s+at /.test(l));
  if (frames.length) log.error(`${e.name}: ${e.message}\n${frames.join('\n')}`);
}

/** Runs a TunnelManager behind `port`. Calls onDisposed after the reply to `dispose`. */
export function startEngineWorker(port: Port, init: WorkerInit, onDisposed?: () => void): EngineWorker {
  const log = new Log(init.logLevel);
  const out = new LogBatcher(port);
  log.onLine((line) => out.line(line));

  let nextPrompt = 1;
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  /** Asks on the client's side; withdrawn, the question closes there and `unanswered` is the answer. */
  const ask = <T>(kind: PromptKind, request: unknown, withdrawn: AbortSignal | undefined, unanswered: T): Promise<T> => new Promise<T>((resolve, reject) => {
    if (withdrawn?.aborted) return resolve(unanswered);
    const id = nextPrompt++;
    const onWithdrawn = (): void => {
      if (!waiting.delete(id)) return;
      out.post({ type: 'withdrawPrompt', id });
      resolve(unanswered);
    };
    withdrawn?.addEventListener('abort', onWithdrawn);
    const done = (): void => withdrawn?.removeEventListener('abort', onWithdrawn);
    waiting.set(id, {
      resolve: (v) => { done(); resolve(v as T); },
      reject: (e) => { done(); reject(e); },
    });
    out.post({ type: 'prompt', id, kind, request });
  });
  const prompter: Prompter = {
    password: (req, withdrawn) => ask('password', req, withdrawn, undefined),
    passphrase: (req, withdrawn) => ask('passphrase', req, withdrawn, undefined),
    keyboardInteractive: (req, withdrawn) => ask('keyboardInteractive', req, withdrawn, undefined),
    confirmHostKey: (req, withdrawn) => ask('confirmHostKey', req, withdrawn, false),
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
