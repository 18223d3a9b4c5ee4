/**
 * The `sshTunnels.*` settings, read into plain data, and the engine options made from them.
 */
import os = require('node:os');
import path = require('node:path');
import vscode = require('vscode');
import type { Log } from '../core/log';
import type { Prompter } from '../core/model';
import type { EngineSettings, ManagerOptions } from '../core/tunnelManager';

export const SECTION = 'sshTunnels';

/** One entry of `sshTunnels.tunnels`. */
export interface SavedTunnel {
  id?: string;
  host: string;
  /** OpenSSH flag form, e.g. `-L 9999:mailserver:110`. */
  spec: string;
  label?: string;
  autoStart?: boolean;
  /** The user confirmed listening beyond loopback (GatewayPorts / -g). */
  allowNonLoopback?: boolean;
}

export type BrowserScheme = 'http' | 'https' | 'ask';
export type HostKeyCheckingSetting = 'fromSshConfig' | 'ask' | 'yes' | 'accept-new';

export interface Settings {
  configFile: string;
  knownHostsFile: string | undefined;
  tunnels: SavedTunnel[];
  keepaliveInterval: number;
  reconnect: boolean;
  strictHostKeyChecking: HostKeyCheckingSetting;
  openInBrowserScheme: BrowserScheme;
}

/** `~/x` → `/home/me/x`; empty stays undefined. */
export function expandHome(file: string | undefined): string | undefined {
  const f = file?.trim();
  if (!f) return undefined;
  if (f === '~') return os.homedir();
  if (f.startsWith('~/') || f.startsWith('~\\')) return path.join(os.homedir(), f.slice(2));
  return f;
}

export function readSettings(): Settings {
  const c = vscode.workspace.getConfiguration(SECTION);
  const tunnels = c.get<unknown>('tunnels');
  return {
    configFile: expandHome(c.get<string>('configFile')) ?? path.join(os.homedir(), '.ssh', 'config'),
    knownHostsFile: expandHome(c.get<string>('knownHostsFile')),
    tunnels: Array.isArray(tunnels) ? tunnels.filter(isSavedTunnel) : [],
    keepaliveInterval: Math.max(0, c.get<number>('keepaliveInterval') ?? 15),
    reconnect: c.get<boolean>('reconnect') ?? true,
    strictHostKeyChecking: c.get<HostKeyCheckingSetting>('strictHostKeyChecking') ?? 'fromSshConfig',
    openInBrowserScheme: c.get<BrowserScheme>('openInBrowser.scheme') ?? 'http',
  };
}

function isSavedTunnel(t: unknown): t is SavedTunnel {
  const o = t as Partial<SavedTunnel> | null;
  return typeof o === 'object' && o !== null && typeof o.host === 'string' && typeof o.spec === 'string';
}

export async function writeSavedTunnels(tunnels: SavedTunnel[]): Promise<void> {
  await vscode.workspace.getConfiguration(SECTION).update('tunnels', tunnels, vscode.ConfigurationTarget.Global);
}

/** The engine options that follow from the settings (everything but log and prompter). */
export function engineSettings(s: Settings): EngineSettings {
  return {
    configFile: s.configFile,
    knownHostsFile: s.knownHostsFile,
    strictHostKeyChecking: s.strictHostKeyChecking === 'fromSshConfig' ? undefined : s.strictHostKeyChecking,
    keepaliveInterval: s.keepaliveInterval,
    reconnect: s.reconnect,
  };
}

export function managerOptions(s: Settings, log: Log, prompter: Prompter): ManagerOptions {
  return { log, prompter, ...engineSettings(s) };
}
