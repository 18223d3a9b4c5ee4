/**
 * Pick lists used when a command runs without an argument: a tunnel, or a host (ssh config
 * aliases, hosts in use, and — typed as `user@host:port` — any other destination).
 */
import vscode = require('vscode');
import type { ForwardSnapshot } from '../core/model';
import type { Engine } from '../core/engine';
import { allForwards, forwardIcon, forwardName, hostDescription, routeText, stateWord } from './describe';

interface TunnelItem extends vscode.QuickPickItem {
  forward: ForwardSnapshot;
}

/** Picks a tunnel among those `filter` accepts; says so and returns undefined when there are none. */
export async function pickTunnel(
  manager: Engine,
  placeHolder: string,
  filter: (f: ForwardSnapshot) => boolean = () => true,
): Promise<ForwardSnapshot | undefined> {
  const forwards = allForwards(manager.snapshot().hosts).filter(filter);
  if (forwards.length === 0) {
    void vscode.window.showInformationMessage('SSH Tunnels: no tunnel to pick. Add one with "SSH Tunnels: Add Local Forward…".');
    return undefined;
  }
  const items: TunnelItem[] = forwards.map((forward) => ({
    forward,
    label: forwardName(forward),
    iconPath: forwardIcon(forward.state),
    description: `${stateWord(forward.state)} · ${forward.host}`,
    detail: routeText(forward),
  }));
  const picked = await vscode.window.showQuickPick(items, { placeHolder, matchOnDescription: true, matchOnDetail: true });
  return picked?.forward;
}

interface HostItem extends vscode.QuickPickItem {
  host: string;
}

/** Picks a host. With `allowCustom`, whatever is typed is offered as a destination when it resolves. */
export function pickHost(manager: Engine, title: string, allowCustom: boolean): Promise<string | undefined> {
  const configured = manager.configuredHosts().filter((e) => !/[*?!]/.test(e.alias));
  const known: HostItem[] = configured.map((e) => ({ host: e.alias, label: e.alias, description: hostDescription(e) }));
  for (const h of manager.snapshot().hosts) {
    if (!known.some((k) => k.host === h.alias)) known.push({ host: h.alias, label: h.alias, description: hostDescription(h) });
  }
  const custom = (value: string): HostItem | undefined => {
    const typed = value.trim();
    if (!allowCustom || !typed || /\s/.test(typed) || known.some((k) => k.host === typed)) return undefined;
    try {
      const r = manager.resolveHost(typed);
      return { host: typed, label: `$(plus) ${typed}`, description: `connect to ${hostDescription(r)}`, alwaysShow: true };
    } catch {
      return undefined;
    }
  };

  return new Promise((resolve) => {
    const qp = vscode.window.createQuickPick<HostItem>();
    qp.title = title;
    qp.placeholder = allowCustom ? 'A host from your ssh config, or type user@host:port' : 'A host from your ssh config';
    qp.matchOnDescription = true;
    qp.items = known;
    let done = false;
    const finish = (host: string | undefined): void => {
      if (done) return;
      done = true;
      resolve(host);
      subs.forEach((s) => s.dispose());
      qp.dispose();
    };
    const subs = [
      qp.onDidChangeValue((value) => {
        const extra = custom(value);
        qp.items = extra ? [extra, ...known] : known;
      }),
      qp.onDidAccept(() => finish(qp.selectedItems[0]?.host ?? custom(qp.value)?.host)),
      qp.onDidHide(() => finish(undefined)),
    ];
    qp.show();
  });
}
