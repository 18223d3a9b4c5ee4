/**
 * Wiring only: the engine's log and manager, the VS Code log channel, prompter, tree, status bar
 * and commands; settings changes passed on; saved tunnels restored. Deactivation stops every
 * tunnel and closes every connection.
 */
import vscode = require('vscode');
import { Log } from './core/log';
import path = require('node:path');
import type { Engine } from './core/engine';
import { EngineClient } from './core/worker/engineClient';
import { registerCommands } from './ui/commands';
import type { UiContext } from './ui/context';
import { LogChannel } from './ui/logChannel';
import { VsCodePrompter } from './ui/prompter';
import { SavedTunnels } from './ui/savedTunnels';
import { SECTION, engineSettings, managerOptions, readSettings } from './ui/settings';
import { StatusBar } from './ui/statusBar';
import { TunnelTree } from './ui/tunnelTree';

let shutdown: (() => Promise<void>) | undefined;

function reportRestoreProblems(log: Log, logChannel: LogChannel, problems: string[]): void {
  problems.forEach((p) => log.error(`Saved tunnel not restored: ${p}`));
  const open = 'Open Settings';
  const show = 'Show Log';
  void vscode.window.showWarningMessage(
    `SSH Tunnels: ${problems.length} saved tunnel(s) could not be restored: ${problems[0]}`, open, show,
  ).then((choice) => {
    if (choice === open) void vscode.commands.executeCommand('workbench.action.openSettings', `${SECTION}.tunnels`);
    if (choice === show) logChannel.show();
  });
}

export function activate(context: vscode.ExtensionContext): void {
  const log = new Log();
  const logChannel = new LogChannel(log);
  let settings = readSettings();
  const prompter = new VsCodePrompter(context.secrets, (alias) => m.resolveHost(alias));
  // The engine (every forwarded byte, ssh2's crypto) runs in a process of its own, not in the extension host's (engineRunner.ts says why).
  const m: Engine = new EngineClient({
    ...managerOptions(settings, log, prompter),
    workerPath: path.join(__dirname, 'engineWorker.js'),
    compileCacheDir: path.join(context.globalStorageUri.fsPath, 'engine-compile-cache'),
  });
  const saved = new SavedTunnels(m, (problems) => reportRestoreProblems(log, logChannel, problems));
  const ui: UiContext = { manager: m, saved, logChannel, settings: () => settings };
  const tree = new TunnelTree(m);
  let focused = vscode.window.state.focused;

  context.subscriptions.push(
    logChannel,
    tree,
    vscode.window.createTreeView('sshTunnels.hosts', { treeDataProvider: tree, showCollapseAll: true }),
    new StatusBar(m),
    ...registerCommands(ui),
    m.onDidChange((snapshot) => {
      for (const h of snapshot.hosts) if (h.state !== 'connecting' && h.state !== 'reconnecting') prompter.attemptEnded(h.alias);
    }),
    // Back at the machine (perhaps after sleep): skip the reconnect waits.
    vscode.window.onDidChangeWindowState((state) => {
      if (state.focused && !focused) m.retryNow();
      focused = state.focused;
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration(SECTION)) return;
      settings = readSettings();
      m.updateOptions(engineSettings(settings));
      if (e.affectsConfiguration(`${SECTION}.tunnels`)) void saved.sync();
    }),
  );
  void saved.sync();
  shutdown = () => m.dispose();
}

export async function deactivate(): Promise<void> {
  const stop = shutdown;
  shutdown = undefined;
  await stop?.();
}
