/**
 * Live connections, like OpenSSH's `~#`: a pick list of every connection (or one tunnel's), and
 * closing one. `sshTunnels.showConnections` takes nothing, a tunnel node or `{ id }`;
 * `sshTunnels.closeConnection` takes a connection node or `{ forwardId, connectionId }`.
 */
import vscode = require('vscode');
import type { ConnectionSnapshot, ForwardSnapshot } from '../core/model';
import { isScripted, option, tunnelIdOf } from './args';
import type { UiContext } from './context';
import { allForwards, connectionText, forwardName, formatTraffic } from './describe';
import { isNode } from './treeNodes';

interface ConnectionItem extends vscode.QuickPickItem {
  forward: ForwardSnapshot;
  connection: ConnectionSnapshot;
}

export async function showConnections(ui: UiContext, arg: unknown): Promise<void> {
  const only = tunnelIdOf(arg);
  const forwards = allForwards(ui.manager.snapshot().hosts).filter((f) => only === undefined || f.id === only);
  const items: ConnectionItem[] = forwards.flatMap((forward) => forward.connections.map((connection) => ({
    forward,
    connection,
    label: connectionText(connection),
    description: `${forwardName(forward)} · ${forward.host}`,
    detail: `${formatTraffic(connection.bytesSent, connection.bytesReceived)} · open since ${new Date(connection.openedAt).toLocaleTimeString()}`,
  })));
  if (items.length === 0) {
    void vscode.window.showInformationMessage('SSH Tunnels: no live connections.');
    return;
  }
  const picked = await vscode.window.showQuickPick(items, {
    title: 'Live connections (ssh ~#)',
    placeHolder: 'Pick a connection to close it',
    matchOnDescription: true,
  });
  if (!picked) return;
  const close = 'Close Connection';
  const choice = await vscode.window.showWarningMessage(`Close ${picked.label} (${picked.description})?`, { modal: true }, close);
  if (choice === close) ui.manager.closeConnection(picked.forward.id, picked.connection.id);
}

export async function closeConnection(ui: UiContext, arg: unknown): Promise<boolean> {
  if (isNode(arg, 'connection')) return ui.manager.closeConnection(arg.forwardId, arg.connection.id);
  const forwardId = option<string>(arg, 'forwardId', 'string');
  const connectionId = option<number>(arg, 'connectionId', 'number');
  if (isScripted(arg) && forwardId !== undefined && connectionId !== undefined) return ui.manager.closeConnection(forwardId, connectionId);
  await showConnections(ui, arg);
  return false;
}
