/**
 * What the command handlers share: the manager, saved tunnels, the log channel and the settings,
 * plus the one way errors reach the user (a message with a "Show Log" button).
 */
import vscode = require('vscode');
import type { Engine } from '../core/engine';
import type { LogChannel } from './logChannel';
import type { SavedTunnels } from './savedTunnels';
import type { Settings } from './settings';

export interface UiContext {
  readonly manager: Engine;
  readonly saved: SavedTunnels;
  readonly logChannel: LogChannel;
  settings(): Settings;
}

const SHOW_LOG = 'Show Log';

/** Shows an engine failure; "Show Log" opens the output channel. Does not wait for the user. */
export function showError(ui: UiContext, message: string): void {
  void vscode.window.showErrorMessage(message, SHOW_LOG).then((choice) => {
    if (choice === SHOW_LOG) ui.logChannel.show();
  });
}
