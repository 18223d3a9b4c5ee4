/**
 * Words and icons for engine snapshots, shared by the tree, the status bar and the pick lists:
 * `127.0.0.1:9999 → mailserver:110 · ↑1.2 KB ↓3.4 KB`, state icons and the equivalent ssh command.
 */
import vscode = require('vscode');
import { effectiveBindAddress, formatForwardFlag } from '../core/forwardSpec';
import type { ConnectionSnapshot, ForwardSnapshot, ForwardState, HostSnapshot, SessionState } from '../core/model';

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];

export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

/** `↑1.2 KB ↓3.4 KB`: ↑ from the originator towards the destination, ↓ back. */
export function formatTraffic(sent: number, received: number): string {
  return `↑${formatBytes(sent)} ↓${formatBytes(received)}`;
}

export function hostPort(host: string, port: number | undefined): string {
  const h = host.includes(':') ? `[${host}]` : host;
  return port === undefined ? h : `${h}:${port}`;
}

/** Where the forward listens (or will): `127.0.0.1:9999`; for -R the address on the server. */
export function listenText(f: ForwardSnapshot): string {
  if (f.kind === 'remote') return `${hostPort(f.listenAddress ?? f.spec.bindAddress ?? 'localhost', f.listenPort ?? f.spec.bindPort)} on ${f.host}`;
  return hostPort(f.listenAddress ?? effectiveBindAddress(f.spec), f.listenPort ?? f.spec.bindPort);
}

/** `127.0.0.1:9999 → mailserver:110`, `127.0.0.1:1080 (SOCKS)`. */
export function routeText(f: ForwardSnapshot): string {
  const target = f.spec.targetHost === undefined ? '(SOCKS)' : `→ ${hostPort(f.spec.targetHost, f.spec.targetPort)}`;
  return `${listenText(f)} ${target}`;
}

/** `127.0.0.1:9999 → mailserver:110 via shellserver` (-R already names the server). */
export function routeViaText(f: ForwardSnapshot): string {
  return f.kind === 'remote' ? routeText(f) : `${routeText(f)} via ${f.host}`;
}

export function forwardDescription(f: ForwardSnapshot): string {
  const traffic = f.totalConnections > 0 ? ` · ${formatTraffic(f.bytesSent, f.bytesReceived)}` : '';
  return routeText(f) + traffic;
}

export function forwardName(f: ForwardSnapshot): string {
  return f.label || f.sshFlag;
}

export function connectionText(c: ConnectionSnapshot): string {
  return `${hostPort(c.originAddress, c.originPort)} → ${c.destination}`;
}

const STATE_WORDS: Record<ForwardState, string> = {
  stopped: 'Stopped',
  starting: 'Starting',
  listening: 'Listening',
  reconnecting: 'Reconnecting',
  error: 'Error',
};

export function stateWord(state: ForwardState): string {
  return STATE_WORDS[state];
}

export function forwardIcon(state: ForwardState): vscode.ThemeIcon {
  switch (state) {
    case 'listening': return new vscode.ThemeIcon('pass-filled', new vscode.ThemeColor('testing.iconPassed'));
    case 'starting': return new vscode.ThemeIcon('loading~spin');
    case 'reconnecting': return new vscode.ThemeIcon('sync~spin', new vscode.ThemeColor('charts.yellow'));
    case 'error': return new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed'));
    case 'stopped': return new vscode.ThemeIcon('circle-outline');
  }
}

export function hostIcon(state: SessionState): vscode.ThemeIcon {
  switch (state) {
    case 'connected': return new vscode.ThemeIcon('vm-active', new vscode.ThemeColor('testing.iconPassed'));
    case 'connecting': return new vscode.ThemeIcon('loading~spin');
    case 'reconnecting': return new vscode.ThemeIcon('sync~spin', new vscode.ThemeColor('charts.yellow'));
    case 'error': return new vscode.ThemeIcon('vm-outline', new vscode.ThemeColor('testing.iconFailed'));
    case 'disconnected': return new vscode.ThemeIcon('vm-outline');
  }
}

/** `user@hostname:port`, leaving out what is unknown. */
export function hostDescription(h: { user?: string; hostName?: string; port?: number }): string {
  if (!h.hostName) return '';
  return `${h.user ? `${h.user}@` : ''}${hostPort(h.hostName, h.port)}`;
}

// The engine's own answers, re-exported for the UI's modules.
export { allForwards, isActive } from '../core/model';

const SHELL_SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

function shellQuote(word: string): string {
  return SHELL_SAFE.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * The `ssh` arguments for a destination as the engine takes it: an alias, `user@host`, or
 * `user@host:port` (which ssh spells `-p port user@host`).
 */
export function sshDestinationArgs(destination: string): string[] {
  const m = /^(?:(.+)@)?(\[[^\]]+\]|[^:@[\]]+):(\d+)$/.exec(destination);
  if (!m) return [destination];
  const host = m[2].replace(/^\[(.*)\]$/, '$1');
  return ['-p', m[3], m[1] ? `${m[1]}@${host}` : host];
}

/** The OpenSSH command that does the same: `ssh -N -L 127.0.0.1:9999:mailserver:110 shellserver`. */
export function sshCommandLine(f: ForwardSnapshot): string {
  const flag = formatForwardFlag(f.spec).split(' ');
  return ['ssh', '-N', ...flag, ...sshDestinationArgs(f.host)].map(shellQuote).join(' ');
}
