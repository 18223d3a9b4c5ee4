/**
 * Log lines leave the engine (its process or worker thread) in batches. At VS Code's default log
 * level (Info, which the extension maps to ssh's debug1) every forwarded connection logs two
 * lines, and every message the engine posts wakes the extension host's thread and is cloned
 * across: one message per line cost 0.06–0.18 ms of CPU per forwarded connection
 * (bench/README.md, change 14).
 *
 * debug lines wait up to LOG_BATCH_MS and leave together; error, info and verbose lines (what a
 * user is told without asking for debug output) leave at once, with any debug lines before them.
 * Lines never overtake, and never fall behind, the engine's other messages: a reply, snapshot or
 * prompt first sends the lines logged before it.
 */
import type { LogLine } from '../log';
import type { FromWorker } from './protocol';

/** Longest a debug line waits in the engine before it is sent. */
export const LOG_BATCH_MS = 20;

export class LogBatcher {
  private lines: LogLine[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly port: { postMessage(message: FromWorker): void }, private readonly delayMs = LOG_BATCH_MS) {}

  line(line: LogLine): void {
    this.lines.push(line);
    if (!line.level.startsWith('debug')) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.delayMs);
  }

  /** Posts a message after the lines logged before it. */
  post(message: FromWorker): void {
    this.flush();
    this.port.postMessage(message);
  }

  flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (!this.lines.length) return;
    const lines = this.lines;
    this.lines = [];
    this.port.postMessage({ type: 'log', lines });
  }
}
