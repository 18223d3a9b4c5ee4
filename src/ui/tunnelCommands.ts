/**
 * Commands on one tunnel: start, stop, toggle, remove, copy its address or its ssh command. Each
 * takes a tunnel node, `{ id }` or an id string, and asks with a pick list when given nothing.
 */
import vscode = require('vscode');
import { effectiveBindAddress } from '../core/forwardSpec';
import type { ForwardSnapshot } from '../core/model';
import { isScripted, tunnelIdOf } from './args';
import { showError, type UiContext } from './context';
import { forwardName, hostPort, isActive, sshCommandLine } from './describe';
import { pickTunnel } from './picks';

async function tunnelId(ui: UiContext, arg: unknown, placeHolder: string, filter?: (f: ForwardSnapshot) => boolean): Promise<string | undefined> {
  return tunnelIdOf(arg) ?? (await pickTunnel(ui.manager, placeHolder, filter))?.id;
}

function reportFailure(ui: UiContext, f: ForwardSnapshot): ForwardSnapshot {
  if (f.state === 'error' && f.error) showError(ui, `${f.sshFlag} on ${f.host}: ${f.error}`);
  return f;
}

export async function startTunnel(ui: UiContext, arg: unknown): Promise<ForwardSnapshot | undefined> {
  const id = await tunnelId(ui, arg, 'Start which tunnel?', (f) => !isActive(f));
  return id ? reportFailure(ui, await ui.manager.startForward(id)) : undefined;
}

export async function stopTunnel(ui: UiContext, arg: unknown): Promise<ForwardSnapshot | undefined> {
  const id = await tunnelId(ui, arg, 'Stop which tunnel?', isActive);
  return id ? ui.manager.stopForward(id) : undefined;
}

export async function toggleTunnel(ui: UiContext, arg: unknown): Promise<ForwardSnapshot | undefined> {
  const id = await tunnelId(ui, arg, 'Start or stop which tunnel?');
  return id ? reportFailure(ui, await ui.manager.toggleForward(id)) : undefined;
}

/** Removes the tunnel, and its entry from the settings when it was saved (asking first, unless scripted). */
export async function removeTunnel(ui: UiContext, arg: unknown): Promise<boolean> {
  const id = await tunnelId(ui, arg, 'Remove which tunnel?');
  if (!id) return false;
  const f = ui.manager.forwardSnapshot(id);
  if (ui.saved.isSaved(id) && !isScripted(arg)) {
    const remove = 'Remove';
    const choice = await vscode.window.showWarningMessage(
      `Remove the saved tunnel ${forwardName(f)} on ${f.host}?`,
      { modal: true, detail: 'It is stopped and deleted from your settings (sshTunnels.tunnels).' },
      remove,
    );
    if (choice !== remove) return false;
  }
  await ui.manager.removeForward(id);
  await ui.saved.forget(id);
  return true;
}

const WILDCARD = new Set(['', '*', '0.0.0.0', '::']);

/** `127.0.0.1:9999` for -L/-D (loopback when it listens everywhere); for -R the address on the server. */
export function tunnelAddress(f: ForwardSnapshot): string {
  const port = f.listenPort ?? f.spec.bindPort;
  if (f.kind === 'remote') return hostPort(f.listenAddress ?? f.spec.bindAddress ?? 'localhost', port);
  const address = f.listenAddress ?? effectiveBindAddress(f.spec);
  return hostPort(WILDCARD.has(address) ? '127.0.0.1' : address, port);
}

async function copy(text: string): Promise<string> {
  await vscode.env.clipboard.writeText(text);
  vscode.window.setStatusBarMessage(`Copied ${text}`, 3000);
  return text;
}

export async function copyAddress(ui: UiContext, arg: unknown): Promise<string | undefined> {
  const id = await tunnelId(ui, arg, 'Copy the address of which tunnel?');
  return id ? copy(tunnelAddress(ui.manager.forwardSnapshot(id))) : undefined;
}

export async function copySshCommand(ui: UiContext, arg: unknown): Promise<string | undefined> {
  const id = await tunnelId(ui, arg, 'Copy the ssh command of which tunnel?');
  return id ? copy(sshCommandLine(ui.manager.forwardSnapshot(id))) : undefined;
}
