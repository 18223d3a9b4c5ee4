/**
 * The "SSH Tunnels" log output channel. At VS Code's default level (Info) it reads like `ssh -v`:
 * core lines up to debug1 are shown (error → error, info/verbose/debug1 → info); Debug adds
 * debug2 (`-vv`) and Trace adds debug3 with ssh2's protocol debug (`-vvv`, from the next connection
 * on). The core log's level follows the channel's ("Set Log Level…").
 */
import vscode = require('vscode');
import type { Log, LogLevel, LogLine } from '../core/log';

function coreLevel(level: vscode.LogLevel): LogLevel {
  switch (level) {
    case vscode.LogLevel.Trace: return 'debug3';
    case vscode.LogLevel.Debug: return 'debug2';
    case vscode.LogLevel.Info: return 'debug1';
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
      case 'verbose':
      case 'debug1': return /^Warning:/.test(line.text) ? c.warn(line.text) : c.info(line.text);
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
