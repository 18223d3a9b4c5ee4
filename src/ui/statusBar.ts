/**
 * One status bar item: `$(plug) 2` = tunnels listening, on a warning background while any is in
 * error or reconnecting; the tooltip lists every tunnel; clicking picks one to start or stop.
 * Hidden while there are no tunnels. Updates only when the manager reports a change.
 */
import vscode = require('vscode');
import type { ManagerSnapshot } from '../core/model';
import type { Engine } from '../core/engine';
import { allForwards, forwardName, routeViaText, stateWord } from './describe';

export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('sshTunnels.status', vscode.StatusBarAlignment.Left, 50);
  private readonly subscription: { dispose(): void };

  constructor(manager: Engine) {
    this.item.name = 'SSH Tunnels';
    this.item.command = 'sshTunnels.toggleTunnel';
    this.subscription = manager.onDidChange((s) => this.update(s));
    this.update(manager.snapshot());
  }

  private update(snapshot: ManagerSnapshot): void {
    const forwards = allForwards(snapshot.hosts);
    if (forwards.length === 0) {
      this.item.hide();
      return;
    }
    const listening = forwards.filter((f) => f.state === 'listening').length;
    const troubled = forwards.some((f) => f.state === 'error' || f.state === 'reconnecting');
    this.item.text = `$(plug) ${listening}`;
    this.item.backgroundColor = troubled ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    const md = new vscode.MarkdownString(`**SSH Tunnels** — ${listening} of ${forwards.length} listening\n\n`);
    for (const f of forwards) {
      md.appendMarkdown('- ').appendText(`${stateWord(f.state)}: ${forwardName(f)} (${routeViaText(f)})`).appendMarkdown('\n');
    }
    md.appendMarkdown('\nClick to start or stop a tunnel.');
    this.item.tooltip = md;
    this.item.accessibilityInformation = { label: `SSH Tunnels: ${listening} of ${forwards.length} listening${troubled ? ', some with problems' : ''}` };
    this.item.show();
  }

  dispose(): void {
    this.subscription.dispose();
    this.item.dispose();
  }
}
