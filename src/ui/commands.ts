/**
 * Registers every `sshTunnels.*` command. A failure is shown to the user; when a script called the
 * command (plain-data argument), the returned promise also rejects with it.
 */
import vscode = require('vscode');
import { addFromCommand } from './addFromCommand';
import { addForward } from './addForward';
import { isScripted } from './args';
import { closeConnection, showConnections } from './connections';
import { showError, type UiContext } from './context';
import { connectHost, disconnectHost, openSshConfig, refresh } from './hostCommands';
import { openInBrowser } from './openInBrowser';
import { copyAddress, copySshCommand, removeTunnel, startTunnel, stopTunnel, toggleTunnel } from './tunnelCommands';

type Handler = (arg: unknown) => unknown;

function handlers(ui: UiContext): Record<string, Handler> {
  return {
    'sshTunnels.addLocalForward': (arg) => addForward(ui, 'local', arg),
    'sshTunnels.addRemoteForward': (arg) => addForward(ui, 'remote', arg),
    'sshTunnels.addDynamicForward': (arg) => addForward(ui, 'dynamic', arg),
    'sshTunnels.addFromCommand': (arg) => addFromCommand(ui, arg),
    'sshTunnels.startTunnel': (arg) => startTunnel(ui, arg),
    'sshTunnels.stopTunnel': (arg) => stopTunnel(ui, arg),
    'sshTunnels.toggleTunnel': (arg) => toggleTunnel(ui, arg),
    'sshTunnels.removeTunnel': (arg) => removeTunnel(ui, arg),
    'sshTunnels.openInBrowser': (arg) => openInBrowser(ui, arg),
    'sshTunnels.copyAddress': (arg) => copyAddress(ui, arg),
    'sshTunnels.copySshCommand': (arg) => copySshCommand(ui, arg),
    'sshTunnels.connectHost': (arg) => connectHost(ui, arg),
    'sshTunnels.disconnectHost': (arg) => disconnectHost(ui, arg),
    'sshTunnels.showConnections': (arg) => showConnections(ui, arg),
    'sshTunnels.closeConnection': (arg) => closeConnection(ui, arg),
    'sshTunnels.showLog': () => ui.logChannel.show(),
    'sshTunnels.stopAll': () => ui.manager.stopAll(),
    'sshTunnels.refresh': () => refresh(ui),
    'sshTunnels.openSshConfig': () => openSshConfig(ui),
  };
}

export function registerCommands(ui: UiContext): vscode.Disposable[] {
  return Object.entries(handlers(ui)).map(([id, handler]) =>
    vscode.commands.registerCommand(id, async (arg: unknown) => {
      try {
        return await handler(arg);
      } catch (err) {
        showError(ui, err instanceof Error ? err.message : String(err));
        if (isScripted(arg)) throw err;
        return undefined;
      }
    }));
}
