/**
 * The "SSH Tunnels" log output channel. Core lines go to VS Code's levels (error → error,
 * info/verbose → info, debug1/debug2 → debug, debug3 → trace) and the core log's level follows the
 * channel's ("Set Log Level…"), so Trace shows ssh2's protocol debug (from the next connection on).
 */
import * as vscode from 'vscode';
import type { Log, LogLevel, LogLine } from '../core/log';

function coreLevel(level: vscode.LogLevel): LogLevel {
  switch (level) {
    case vscode.LogLevel.Trace: return 'debug3';
    case vscode.LogLevel.Debug: return 'debug2';
    case vscode.LogLevel.Info: return 'verbose';
    case vscode.LogLevel.Warning: return 'info';
    default: return 'error';
  }
}

export class LogChannel implements vscode.Disposable {
  readonly channel: vscode.LogOutputChannel;
  private readonly subs: vscode.Disposable[];

  constructor(log: Log) {
    this.channel = vscode.window.createOutputChannel('SSH Tunnels', { log: true });
    log.level = coreLevel(this.channel.logLevel);
    this.subs = [
      this.channel,
      this.channel.onDidChangeLogLevel((level) => { log.level = coreLevel(level); }),
      log.onLine((line) => this.write(line)),
    ];
  }

  private write(line: LogLine): void {
    const c = this.channel;
    switch (line.level) {
      case 'error': return c.error(line.text);
      case 'info':
      case 'verbose': return /^Warning:/.test(line.text) ? c.warn(line.text) : c.info(line.text);
      case 'debug1':
      case 'debug2': return c.debug(line.text);
      case 'debug3': return c.trace(line.text);
    }
  }

  show(): void {
    this.channel.show(true);
  }

  dispose(): void {
    this.subs.forEach((s) => s.dispose());
  }
}
