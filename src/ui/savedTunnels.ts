/**
 * Saved tunnels: the `sshTunnels.tunnels` setting (user/global) kept in step with the manager.
 * On activation, and whenever the setting changes (also by hand in settings.json), new entries are
 * added (started when autoStart), edited ones re-created, and deleted ones removed.
 */
import vscode = require('vscode');
import { formatForwardFlag, parseForwardArgument } from '../core/forwardSpec';
import type { ForwardSnapshot } from '../core/model';
import type { Engine } from '../core/engine';
import { allForwards, isActive } from './describe';
import { SECTION, readSettings, writeSavedTunnels, type SavedTunnel } from './settings';

/** A hand-written entry without an id gets a stable one from what it says. */
export function savedId(t: SavedTunnel): string {
  return t.id || `saved:${t.host.trim()} ${t.spec.trim()}`;
}

function sameSpec(saved: string, f: ForwardSnapshot): boolean {
  try {
    return formatForwardFlag(parseForwardArgument(saved)) === f.sshFlag;
  } catch {
    return false;
  }
}

function globalTunnels(): SavedTunnel[] {
  const value = vscode.workspace.getConfiguration(SECTION).inspect<SavedTunnel[]>('tunnels')?.globalValue;
  return Array.isArray(value) ? value : [];
}

export class SavedTunnels {
  /** Ids of the entries as of the last sync (or our own writes). */
  private known = new Set<string>();
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly manager: Engine,
    /** Told which entries could not be restored, one line each. */
    private readonly report: (problems: string[]) => void,
  ) {}

  isSaved(id: string): boolean {
    return this.known.has(id);
  }

  /** Brings the manager in line with the setting. Calls are queued, never run side by side. */
  sync(): Promise<void> {
    this.queue = this.queue.then(() => this.doSync(), () => this.doSync());
    return this.queue;
  }

  private async doSync(): Promise<void> {
    const entries = readSettings().tunnels;
    const wanted = new Map(entries.map((t) => [savedId(t), t]));
    const current = new Map(allForwards(this.manager.snapshot().hosts).map((f) => [f.id, f]));
    for (const id of this.known) {
      if (!wanted.has(id) && current.has(id)) await this.manager.removeForward(id);
    }
    this.known = new Set(wanted.keys());
    const problems: string[] = [];
    for (const [id, t] of wanted) {
      const f = current.get(id);
      try {
        if (f && f.host === t.host.trim() && sameSpec(t.spec, f) && f.allowNonLoopback === (t.allowNonLoopback === true)) {
          if ((f.label ?? '') !== (t.label ?? '')) this.manager.setLabel(id, t.label);
          continue;
        }
        if (f) await this.manager.removeForward(id);
        const start = f ? isActive(f) : t.autoStart === true;
        await this.manager.addForward({ id, host: t.host, spec: t.spec, label: t.label, allowNonLoopback: t.allowNonLoopback, start: false });
        if (start) void this.manager.startForward(id).catch(() => undefined);
      } catch (err) {
        problems.push(`${t.label || t.spec} on ${t.host}: ${(err as Error).message}`);
      }
    }
    if (problems.length) this.report(problems);
  }

  /** Adds (or replaces) the forward's entry in the user settings. */
  async save(f: ForwardSnapshot, autoStart: boolean): Promise<void> {
    const entry: SavedTunnel = {
      id: f.id,
      host: f.host,
      spec: f.sshFlag,
      ...(f.label ? { label: f.label } : {}),
      autoStart,
      ...(f.allowNonLoopback ? { allowNonLoopback: true } : {}),
    };
    this.known.add(f.id);
    await writeSavedTunnels([...globalTunnels().filter((t) => savedId(t) !== f.id), entry]);
  }

  /** Deletes the forward's entry, if it has one. */
  async forget(id: string): Promise<void> {
    this.known.delete(id);
    const list = globalTunnels();
    const rest = list.filter((t) => savedId(t) !== id);
    if (rest.length !== list.length) await writeSavedTunnels(rest);
  }
}
