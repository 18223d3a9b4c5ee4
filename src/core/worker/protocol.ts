/**
 * Messages between EngineClient (the extension host's thread) and the engine (its process or
 * worker thread). Everything is plain data (structured clone): commands and prompt answers go in;
 * replies, snapshots, log lines and prompt requests come out.
 */
import type { LogLevel, LogLine } from '../log';
import type { ManagerSnapshot } from '../model';
import type { ManagerOptions } from '../tunnelManager';

/** ManagerOptions without the log and prompter (those stay on the client's side). */
export type PlainManagerOptions = Omit<ManagerOptions, 'log' | 'prompter'>;

/** TunnelManager methods the engine runs on request. */
export type CommandName =
  | 'addForward' | 'startForward' | 'stopForward' | 'toggleForward' | 'removeForward' | 'setLabel'
  | 'closeConnection' | 'connectHost' | 'disconnectHost' | 'retryNow' | 'stopAll' | 'reloadConfig' | 'dispose';

export type PromptKind = 'password' | 'passphrase' | 'keyboardInteractive' | 'confirmHostKey';

export interface WorkerInit {
  options: PlainManagerOptions;
  logLevel: LogLevel;
}

export type ToWorker =
  | { type: 'command'; id: number; name: CommandName; args: unknown[]; options?: PlainManagerOptions }
  | { type: 'answer'; id: number; value?: unknown; error?: string }
  | { type: 'logLevel'; level: LogLevel };

export interface SerializedError {
  message: string;
  name: string;
  /** Set for TunnelError. */
  fatal?: boolean;
  code?: string;
}

export type FromWorker =
  | { type: 'ready'; snapshot: ManagerSnapshot }
  | { type: 'reply'; id: number; value?: unknown; error?: SerializedError; snapshot: ManagerSnapshot }
  | { type: 'change'; snapshot: ManagerSnapshot }
  /** Log lines in the order they were logged (batched: see LogBatcher). */
  | { type: 'log'; lines: LogLine[] }
  | { type: 'prompt'; id: number; kind: PromptKind; request: unknown }
  /** The answer to that prompt is no longer wanted (its connection attempt ended): close it. */
  | { type: 'withdrawPrompt'; id: number };
