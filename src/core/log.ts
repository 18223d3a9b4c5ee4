/**
 * The engine's log, worded like OpenSSH's client (`ssh -v`, `-vv`, `-vvv`): lines such as
 * `debug1: Local forwarding listening on 127.0.0.1 port 9999.` Levels follow ssh's LogLevel:
 * error < info < verbose < debug1 < debug2 < debug3. Secrets registered with `redact()` are
 * replaced before any sink sees a line.
 */
import { EventEmitter } from 'node:events';

export type LogLevel = 'error' | 'info' | 'verbose' | 'debug1' | 'debug2' | 'debug3';
export const LOG_LEVELS: readonly LogLevel[] = ['error', 'info', 'verbose', 'debug1', 'debug2', 'debug3'];

export interface LogLine {
  level: LogLevel;
  /** The line as OpenSSH would print it, with its `debug1: ` prefix where ssh has one. */
  text: string;
  time: number;
}

const PREFIX: Record<LogLevel, string> = {
  error: '',
  info: '',
  verbose: '',
  debug1: 'debug1: ',
  debug2: 'debug2: ',
  debug3: 'debug3: ',
};

export class Log {
  private readonly emitter = new EventEmitter();
  private readonly secrets = new Set<string>();
  private threshold: number;

  constructor(level: LogLevel = 'debug1') {
    this.threshold = LOG_LEVELS.indexOf(level);
  }

  get level(): LogLevel {
    return LOG_LEVELS[this.threshold];
  }

  set level(level: LogLevel) {
    const changed = level !== this.level;
    this.threshold = LOG_LEVELS.indexOf(level);
    if (changed) this.emitter.emit('level', level);
  }

  /** Called with the new level whenever it changes (e.g. to pass it on to the engine's worker). */
  onLevel(listener: (level: LogLevel) => void): { dispose(): void } {
    this.emitter.on('level', listener);
    return { dispose: () => this.emitter.off('level', listener) };
  }

  enabled(level: LogLevel): boolean {
    return LOG_LEVELS.indexOf(level) <= this.threshold;
  }

  /** Never print this string again (a password, passphrase or keyboard-interactive answer). */
  redact(secret: string | undefined): void {
    if (secret && secret.length >= 1) this.secrets.add(secret);
  }

  onLine(listener: (line: LogLine) => void): { dispose(): void } {
    this.emitter.on('line', listener);
    return { dispose: () => this.emitter.off('line', listener) };
  }

  write(level: LogLevel, message: string): void {
    if (!this.enabled(level)) return;
    let text = PREFIX[level] + message;
    for (const s of this.secrets) {
      if (text.includes(s)) text = text.split(s).join('********');
    }
    this.emitter.emit('line', { level, text, time: Date.now() } satisfies LogLine);
  }

  error(message: string): void { this.write('error', message); }
  info(message: string): void { this.write('info', message); }
  verbose(message: string): void { this.write('verbose', message); }
  debug1(message: string): void { this.write('debug1', message); }
  debug2(message: string): void { this.write('debug2', message); }
  debug3(message: string): void { this.write('debug3', message); }
}
