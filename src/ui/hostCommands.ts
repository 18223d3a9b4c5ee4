/**
 * Commands on hosts and the ssh config: connect (and stay connected), disconnect, reload the
 * config, open it. Host commands take a host node, `{ host }` or a host string, and ask otherwise.
 */
import fs = require('node:fs');
import vscode = require('vscode');
import type { HostSnapshot } from '../core/model';
import { hostOf } from './args';
import { showError, type UiContext } from './context';
import { hostDescription } from './describe';
import { pickHost } from './picks';

export async function connectHost(ui: UiContext, arg: unknown): Promise<HostSnapshot | undefined> {
  const host = hostOf(arg) ?? (await pickHost(ui.manager, 'Connect to which host?', true));
  if (!host) return undefined;
  const snapshot = await ui.manager.connectHost(host);
  if (snapshot.state === 'error' && snapshot.error) showError(ui, `${host}: ${snapshot.error}`);
  return snapshot;
}

export async function disconnectHost(ui: UiContext, arg: unknown): Promise<void> {
  let host = hostOf(arg);
  if (!host) {
    const connected = ui.manager.snapshot().hosts.filter((h) => h.state !== 'disconnected');
    if (connected.length === 0) {
      void vscode.window.showInformationMessage('SSH Tunnels: no host is connected.');
      return;
    }
    const picked = await vscode.window.showQuickPick(
      connected.map((h) => ({ label: h.alias, description: `${hostDescription(h)} · ${h.state}` })),
      { placeHolder: 'Disconnect which host? (its tunnels stop)' },
    );
    host = picked?.label;
  }
  if (host) await ui.manager.disconnectHost(host);
}

export function refresh(ui: UiContext): void {
  ui.manager.reloadConfig();
  const problems = ui.manager.configProblems().length;
  vscode.window.setStatusBarMessage(
    `SSH config reloaded: ${ui.manager.configuredHosts().length} hosts${problems ? `, ${problems} problem(s) (see the log)` : ''}`,
    4000,
  );
}

/** Opens the ssh config; when there is none yet, an unsaved editor that saves to its path. */
export async function openSshConfig(ui: UiContext): Promise<void> {
  const file = ui.settings().configFile;
  const exists = await fs.promises.access(file).then(() => true, () => false);
  const uri = exists ? vscode.Uri.file(file) : vscode.Uri.file(file).with({ scheme: 'untitled' });
  await vscode.window.showTextDocument(uri);
  if (!exists) void vscode.window.showInformationMessage(`${file} does not exist yet: save this editor to create it.`);
}
