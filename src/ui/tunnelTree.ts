/**
 * The `sshTunnels.hosts` tree: hosts (from the ssh config, and any with tunnels) → tunnels → live
 * connections. It redraws only when the manager reports a change, never by polling. Items carry
 * stable ids so expansion survives redraws; `contextValue`s drive the menus in package.json:
 * `host.connected` / `host.disconnected`, `tunnel.<kind>.<state>`, `connection`, `problems`.
 */
import vscode = require('vscode');
import type { ForwardSnapshot, ManagerSnapshot } from '../core/model';
import type { Engine } from '../core/engine';
import {
  connectionText, forwardDescription, forwardIcon, forwardName, formatTraffic, hostDescription, hostIcon,
  routeViaText, sshCommandLine, stateWord,
} from './describe';
import type { ConnectionNode, HostNode, ProblemsNode, TreeNode, TunnelNode } from './treeNodes';

function time(ms: number): string {
  return new Date(ms).toLocaleTimeString();
}

function tunnelTooltip(f: ForwardSnapshot): vscode.MarkdownString {
  const md = new vscode.MarkdownString();
  md.appendMarkdown('**').appendText(forwardName(f)).appendMarkdown('**  \n');
  md.appendText(`${stateWord(f.state)} since ${time(f.since)} — ${routeViaText(f)}`).appendMarkdown('  \n');
  if (f.totalConnections > 0) {
    md.appendText(`Traffic ${formatTraffic(f.bytesSent, f.bytesReceived)} in ${f.totalConnections} connection(s), ${f.connections.length} open`)
      .appendMarkdown('  \n');
  }
  if (f.error) md.appendMarkdown('\n\n$(error) ').appendText(f.error);
  if (f.lastConnectionError) md.appendMarkdown('\n\n$(warning) Last connection: ').appendText(f.lastConnectionError);
  md.appendMarkdown('\n\nOpenSSH equivalent:\n').appendCodeblock(sshCommandLine(f), 'sh');
  md.supportThemeIcons = true;
  return md;
}

const TRAFFIC_REFRESH_MS = 1000;

/** The parts of a forward that change with every byte and connection while it is busy. */
function trafficOf(f: ForwardSnapshot): unknown {
  return [f.bytesSent, f.bytesReceived, f.totalConnections, f.connections, f.lastConnectionError];
}

function withoutTraffic(f: ForwardSnapshot): Partial<ForwardSnapshot> {
  const { bytesSent: _s, bytesReceived: _r, totalConnections: _t, connections: _c, lastConnectionError: _e, ...rest } = f;
  return rest;
}

export class TunnelTree implements vscode.TreeDataProvider<TreeNode>, vscode.Disposable {
  private snapshot: ManagerSnapshot;
  private readonly changeEmitter = new vscode.EventEmitter<TreeNode | TreeNode[] | undefined>();
  private readonly subscription: { dispose(): void };
  private hasTunnels: boolean | undefined;
  /**
   * When the whole tree is refreshed, VS Code forgets its elements until it has fetched the rows
   * again: an inline button clicked in that moment runs its command without its tunnel (a "Stop
   * which tunnel?" list instead of stopping it), and a button under a still mouse disappears. While
   * a tunnel is busy its traffic changes several times a second, so traffic alone refreshes only
   * that tunnel's row (and its connections); anything else (states, errors, rows that come or go,
   * the ssh config) refreshes the whole tree, which VS Code always gets right. Traffic rows are
   * refreshed at most once a second: a flood of them (hundreds of short connections a second)
   * would keep VS Code from ever getting to a whole-tree refresh queued behind them. Refreshing
   * single rows needs the same objects each time (VS Code knows elements by identity): one host
   * and one tunnel node each, updated in place.
   */
  private readonly hostNodes = new Map<string, HostNode>();
  private readonly tunnelNodes = new Map<string, TunnelNode>();
  private readonly trafficKeys = new WeakMap<TunnelNode, string>();
  private rootNodes: TreeNode[] = [];
  private synced = false;
  /** Everything the tree shows except traffic. */
  private shape = '';
  private readonly trafficPending = new Set<TunnelNode>();
  private trafficTimer: NodeJS.Timeout | undefined;
  readonly onDidChangeTreeData = this.changeEmitter.event;

  constructor(private readonly manager: Engine) {
    this.snapshot = manager.snapshot();
    // The nodes (and the ssh config read they need) wait for the first getChildren: a window
    // whose SSH Tunnels view is not shown does not pay for them at activation.
    this.subscription = manager.onDidChange((snapshot) => {
      this.snapshot = snapshot;
      this.updateContextKeys();
      if (!this.synced) return;
      const shape = this.shape;
      const busy = this.sync();
      if (this.shape !== shape) {
        this.trafficPending.clear();
        this.changeEmitter.fire(undefined);
      } else if (busy.length) {
        busy.forEach((n) => this.trafficPending.add(n));
        this.trafficTimer ??= setTimeout(() => {
          this.trafficTimer = undefined;
          const nodes = [...this.trafficPending].filter((n) => this.tunnelNodes.get(n.forward.id) === n);
          this.trafficPending.clear();
          if (nodes.length) this.changeEmitter.fire(nodes);
        }, TRAFFIC_REFRESH_MS);
      }
    });
    this.updateContextKeys();
  }

  /** `sshTunnels.hasTunnels` hides the palette's tunnel commands while there is nothing to act on. */
  private updateContextKeys(): void {
    const has = this.snapshot.hosts.some((h) => h.forwards.length > 0);
    if (has === this.hasTunnels) return;
    this.hasTunnels = has;
    void vscode.commands.executeCommand('setContext', 'sshTunnels.hasTunnels', has);
  }

  getChildren(node?: TreeNode): TreeNode[] {
    if (!node) {
      if (!this.synced) this.sync();
      return this.rootNodes;
    }
    if (node.type === 'host') return (node.host?.forwards ?? []).map((f) => this.tunnelNodes.get(f.id)).filter((n): n is TunnelNode => n !== undefined);
    if (node.type === 'tunnel') {
      return node.forward.connections.map((connection): ConnectionNode => ({ type: 'connection', forwardId: node.forward.id, connection }));
    }
    return [];
  }

  /** Brings the nodes and `shape` up to date with the snapshot and the ssh config; returns the tunnels whose traffic changed. */
  private sync(): TunnelNode[] {
    this.synced = true;
    const sessions = new Map(this.snapshot.hosts.map((h) => [h.alias, h]));
    const configured = this.manager.configuredHosts().filter((e) => !/[*?!]/.test(e.alias));
    const hosts: HostNode[] = [];
    const hostNode = (alias: string, entry: HostNode['entry'], host: HostNode['host']): void => {
      const node = this.hostNodes.get(alias) ?? { type: 'host', alias };
      node.entry = entry;
      node.host = host;
      this.hostNodes.set(alias, node);
      hosts.push(node);
    };
    for (const entry of configured) hostNode(entry.alias, entry, sessions.get(entry.alias));
    for (const host of this.snapshot.hosts) {
      if (!configured.some((e) => e.alias === host.alias)) hostNode(host.alias, undefined, host);
    }
    for (const alias of [...this.hostNodes.keys()]) if (!hosts.some((h) => h.alias === alias)) this.hostNodes.delete(alias);

    const busy: TunnelNode[] = [];
    const ids = new Set<string>();
    for (const f of this.snapshot.hosts.flatMap((h) => h.forwards)) {
      const node = this.tunnelNodes.get(f.id) ?? { type: 'tunnel', forward: f };
      node.forward = f;
      this.tunnelNodes.set(f.id, node);
      const traffic = JSON.stringify(trafficOf(f));
      if (this.trafficKeys.get(node) !== traffic) busy.push(node);
      this.trafficKeys.set(node, traffic);
      ids.add(f.id);
    }
    for (const id of [...this.tunnelNodes.keys()]) if (!ids.has(id)) this.tunnelNodes.delete(id);

    // Hosts with tunnels first, the rest in ssh config order.
    const ordered = [...hosts.filter((h) => h.host?.forwards.length), ...hosts.filter((h) => !h.host?.forwards.length)];
    const problems = this.manager.configProblems();
    this.rootNodes = problems.length ? [{ type: 'problems', problems } satisfies ProblemsNode, ...ordered] : ordered;
    this.shape = JSON.stringify([
      problems,
      ordered.map((h) => [h.alias, h.entry ?? null, h.host ? { ...h.host, forwards: h.host.forwards.map(withoutTraffic) } : null]),
    ]);
    return busy;
  }

  getTreeItem(node: TreeNode): vscode.TreeItem {
    switch (node.type) {
      case 'host': return this.hostItem(node);
      case 'tunnel': return this.tunnelItem(node.forward);
      case 'connection': return this.connectionItem(node);
      case 'problems': return this.problemsItem(node);
    }
  }

  private hostItem(node: HostNode): vscode.TreeItem {
    const h = node.host;
    const state = h?.state ?? 'disconnected';
    const item = new vscode.TreeItem(node.alias, h?.forwards.length ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
    // A host's id changes when it gets its first tunnel: VS Code keeps a known item's collapsed
    // state, so a host that had no children would otherwise hide its new tunnel.
    item.id = `host:${node.alias}${h?.forwards.length ? ':tunnels' : ''}`;
    item.description = hostDescription(h ?? node.entry ?? {});
    item.iconPath = hostIcon(state);
    item.contextValue = state === 'disconnected' ? 'host.disconnected' : 'host.connected';
    const md = new vscode.MarkdownString();
    md.appendMarkdown('**').appendText(node.alias).appendMarkdown('** ').appendText(String(item.description)).appendMarkdown('  \n');
    md.appendText(`SSH connection: ${state}${h ? ` since ${time(h.since)}` : ''}`);
    if (h?.nextAttemptAt) md.appendText(` — next attempt at ${time(h.nextAttemptAt)}`);
    if (h?.error) md.appendMarkdown('\n\n').appendText(h.error);
    if (node.entry) md.appendMarkdown('\n\n').appendText(`Defined in ${node.entry.file} line ${node.entry.line}`);
    item.tooltip = md;
    return item;
  }

  private tunnelItem(f: ForwardSnapshot): vscode.TreeItem {
    const item = new vscode.TreeItem(forwardName(f), f.connections.length ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
    item.id = `tunnel:${f.id}`;
    item.description = forwardDescription(f);
    item.iconPath = forwardIcon(f.state);
    item.contextValue = `tunnel.${f.kind}.${f.state}`;
    item.tooltip = tunnelTooltip(f);
    return item;
  }

  private connectionItem(node: ConnectionNode): vscode.TreeItem {
    const c = node.connection;
    const item = new vscode.TreeItem(connectionText(c), vscode.TreeItemCollapsibleState.None);
    item.id = `connection:${node.forwardId}:${c.id}`;
    item.description = formatTraffic(c.bytesSent, c.bytesReceived);
    item.iconPath = new vscode.ThemeIcon('arrow-swap');
    item.contextValue = 'connection';
    item.tooltip = `Open since ${time(c.openedAt)}`;
    return item;
  }

  private problemsItem(node: ProblemsNode): vscode.TreeItem {
    const n = node.problems.length;
    const item = new vscode.TreeItem(`ssh config: ${n} problem${n === 1 ? '' : 's'}`, vscode.TreeItemCollapsibleState.None);
    item.id = 'problems';
    item.iconPath = new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.warningForeground'));
    item.contextValue = 'problems';
    item.tooltip = node.problems.map((p) => `${p.file} line ${p.line}: ${p.message}`).join('\n');
    item.command = { command: 'sshTunnels.openSshConfig', title: 'Open SSH Config' };
    return item;
  }

  dispose(): void {
    if (this.trafficTimer) clearTimeout(this.trafficTimer);
    this.subscription.dispose();
    this.changeEmitter.dispose();
  }
}
