/**
 * Adding a forward (-L, -R, -D) from the palette or the tree: host → forward in OpenSSH syntax
 * (validated as it is typed) → checks (local port free? listening beyond loopback? traffic past
 * the server unencrypted?) → save or this session only → start, showing why when it fails.
 * Scripts pass `{ host, spec, label?, save?, autoStart?, allowNonLoopback?, start? }` and are asked
 * nothing, except to confirm a non-loopback listener when they did not say `allowNonLoopback`.
 */
import vscode = require('vscode');
import {
  ForwardSpecError, bindsNonLoopback, effectiveBindAddress, formatForwardFlag, isLoopbackAddress,
  parseForwardArgument, parseForwardSpec,
} from '../core/forwardSpec';
import type { ForwardKind, ForwardSnapshot, ForwardSpec } from '../core/model';
import { canListen, findPortHolder, suggestFreePort } from '../core/portHolder';
import type { Engine } from '../core/engine';
import { hostOf, isScripted, option } from './args';
import { showError, type UiContext } from './context';
import { allForwards, forwardName, hostPort, isActive } from './describe';
import { pickHost } from './picks';

const TITLE: Record<ForwardKind, string> = {
  local: 'Add local forward (-L)',
  remote: 'Add remote forward (-R)',
  dynamic: 'Add dynamic forward (-D, SOCKS)',
};
const EXAMPLE: Record<ForwardKind, string> = { local: '9999:mailserver:110', remote: '8080:localhost:80', dynamic: '1080' };
const PROMPT: Record<ForwardKind, (host: string) => string> = {
  local: (host) => `[bind_address:]port:host:hostport — a port on this machine, forwarded through ${host} to host:hostport as ${host} sees it. E.g. 9999:mailserver:110 or 5432:localhost:5432`,
  remote: (host) => `[bind_address:]port:host:hostport — a port on ${host}, forwarded back to host:hostport as this machine sees it. E.g. 8080:localhost:80`,
  dynamic: (host) => `[bind_address:]port — a SOCKS proxy on this machine whose connections leave from ${host}. E.g. 1080`,
};

export interface SaveChoice {
  save: boolean;
  autoStart: boolean;
}

/** A forward as typed: a bare value for `kind`, or with its own flag or keyword (`-R …`, `LocalForward …`). */
export function parseTyped(kind: ForwardKind, text: string): ForwardSpec {
  const t = text.trim();
  return /^(-[LRD]|[LRD]\s|(local|remote|dynamic)forward)/i.test(t) ? parseForwardArgument(t) : parseForwardSpec(kind, t);
}

function validate(kind: ForwardKind, text: string): string | vscode.InputBoxValidationMessage | undefined {
  if (text.trim() === '') return { message: `OpenSSH syntax, e.g. ${EXAMPLE[kind]}`, severity: vscode.InputBoxValidationSeverity.Info };
  try {
    parseTyped(kind, text);
    return undefined;
  } catch (err) {
    if (err instanceof ForwardSpecError) return err.message;
    throw err;
  }
}

/** Who holds a local port: one of our own tunnels, or another process (when the OS tells). */
function holderOf(manager: Engine, port: number): string {
  const mine = allForwards(manager.snapshot().hosts).find((f) => f.kind !== 'remote' && isActive(f) && (f.listenPort ?? f.spec.bindPort) === port);
  if (mine) return `by your tunnel ${forwardName(mine)} on ${mine.host}`;
  const holder = findPortHolder(port);
  return holder ? `by ${holder.command} (pid ${holder.pid})` : 'by another process (or the address is not one of this machine\'s)';
}

/**
 * For -L and -D: if the local port is taken, says who holds it and offers a free one (never
 * remapping on its own). Resolves to the spec to use, 'edit' to retype, or undefined to cancel.
 */
export async function checkLocalPort(manager: Engine, spec: ForwardSpec, allowEdit: boolean): Promise<ForwardSpec | 'edit' | undefined> {
  if (spec.kind === 'remote' || spec.bindPort === 0) return spec;
  const address = effectiveBindAddress(spec);
  if (await canListen(address, spec.bindPort)) return spec;
  const free = await suggestFreePort(address, spec.bindPort);
  const useFree = free === undefined ? undefined : `Use Port ${free}`;
  const edit = allowEdit ? 'Change Forward…' : undefined;
  const who = holderOf(manager, spec.bindPort);
  const choice = await vscode.window.showWarningMessage(
    `${formatForwardFlag(spec)}: port ${spec.bindPort} on ${address} is already in use ${who}.`,
    { modal: true, detail: `The tunnel could not listen there. ${free !== undefined ? `Port ${free} is free.` : 'No free port nearby was found.'}` },
    ...[useFree, edit].filter((c): c is string => c !== undefined),
  );
  if (choice === edit && edit) return 'edit';
  if (choice === useFree && free !== undefined) return { ...spec, bindPort: free };
  return undefined;
}

/**
 * A listener beyond loopback (like ssh -g / GatewayPorts) needs an explicit yes. Resolves to the
 * `allowNonLoopback` to pass, or undefined when the user declined.
 */
export async function confirmNonLoopback(host: string, specs: ForwardSpec[], given: boolean | undefined): Promise<boolean | undefined> {
  const risky = specs.filter(bindsNonLoopback);
  if (risky.length === 0) return false;
  const flags = risky.map(formatForwardFlag).join(', ');
  if (given === false) throw new Error(`${flags} listens beyond loopback; pass allowNonLoopback: true to allow it.`);
  if (given === true) return true;
  const remote = risky.some((s) => s.kind === 'remote');
  const detail = remote
    ? `sshd on ${host} would listen on that address, so any machine that can reach ${host} could connect through the tunnel to this side (sshd allows it only with GatewayPorts yes or clientspecified). `
    : `Like ssh -g (GatewayPorts yes): any machine that can reach this one on that port could use the tunnel${risky.some((s) => s.kind === 'dynamic') ? ' — an open SOCKS proxy into ' + host + '\'s network' : ''}, with your SSH login to ${host}. `;
  const allow = 'Allow Other Machines';
  const choice = await vscode.window.showWarningMessage(
    `${flags} listens beyond loopback: other machines can connect to it.`,
    { modal: true, detail: detail + 'Leave the bind address out (or use 127.0.0.1) to keep it to this machine.' },
    allow,
  );
  return choice === allow ? true : undefined;
}

let unencryptedNoted = false;

/** Once per session: the tunnel encrypts only as far as the SSH server (or, for -R, this machine). */
export function noteUnencrypted(host: string, specs: ForwardSpec[]): void {
  if (unencryptedNoted) return;
  const far = specs.find((s) => s.targetHost !== undefined && !isLoopbackAddress(s.targetHost));
  if (!far || far.targetHost === undefined) return;
  unencryptedNoted = true;
  const target = hostPort(far.targetHost, far.targetPort);
  const from = far.kind === 'remote' ? 'this machine' : host;
  void vscode.window.showInformationMessage(
    `Note: traffic to ${target} is encrypted by SSH only as far as ${from}; from there to ${target} it travels as the service sends it ` +
      '(unencrypted unless the protocol uses TLS itself).',
  );
}

async function askSpec(manager: Engine, kind: ForwardKind, host: string): Promise<ForwardSpec | undefined> {
  let value = '';
  for (;;) {
    const text = await vscode.window.showInputBox({
      title: `${TITLE[kind]} on ${host}`,
      prompt: PROMPT[kind](host),
      placeHolder: EXAMPLE[kind],
      value,
      ignoreFocusOut: true,
      validateInput: (v) => validate(kind, v),
    });
    if (text === undefined) return undefined;
    value = text;
    if (text.trim() === '') continue;
    const checked = await checkLocalPort(manager, parseTyped(kind, text), true);
    if (checked !== 'edit') return checked;
  }
}

export async function askSave(): Promise<SaveChoice | undefined> {
  const items: (vscode.QuickPickItem & { choice: SaveChoice })[] = [
    { label: '$(save) Save', description: 'keep it in your settings and start it when VS Code starts', choice: { save: true, autoStart: true } },
    { label: '$(save) Save, start by hand', description: 'keep it in your settings', choice: { save: true, autoStart: false } },
    { label: '$(clock) This session only', description: 'gone when VS Code closes', choice: { save: false, autoStart: false } },
  ];
  const picked = await vscode.window.showQuickPick(items, { title: 'Keep this tunnel?', ignoreFocusOut: true });
  return picked?.choice;
}

export interface AddOptions {
  label?: string;
  allowNonLoopback: boolean;
  start: boolean;
  save: SaveChoice;
}

/** Adds the forwards, saves them if asked, starts them; shows why any could not start. */
export async function addForwards(ui: UiContext, host: string, specs: ForwardSpec[], opts: AddOptions): Promise<ForwardSnapshot[]> {
  const added: ForwardSnapshot[] = [];
  for (const spec of specs) {
    const f = await ui.manager.addForward({ host, spec, label: opts.label, allowNonLoopback: opts.allowNonLoopback, start: false });
    if (opts.save.save) await ui.saved.save(f, opts.save.autoStart);
    added.push(f);
  }
  const results: ForwardSnapshot[] = [];
  for (const f of added) {
    const snapshot = opts.start ? await ui.manager.startForward(f.id) : f;
    if (snapshot.state === 'error' && snapshot.error) showError(ui, `${snapshot.sshFlag} on ${host}: ${snapshot.error}`);
    results.push(snapshot);
  }
  return results;
}

/** `sshTunnels.add{Local,Remote,Dynamic}Forward`. */
export async function addForward(ui: UiContext, kind: ForwardKind, arg: unknown): Promise<ForwardSnapshot | undefined> {
  const specText = option<string>(arg, 'spec', 'string');
  const scripted = isScripted(arg) && specText !== undefined;
  const host = hostOf(arg) ?? (await pickHost(ui.manager, `${TITLE[kind]}: through which host?`, true));
  if (!host) return undefined;
  const start = option<boolean>(arg, 'start', 'boolean') ?? true;
  if (start && !scripted) ui.manager.prestart?.();
  const spec = specText !== undefined ? parseTyped(kind, specText) : await askSpec(ui.manager, kind, host);
  if (!spec) return undefined;
  const allowNonLoopback = await confirmNonLoopback(host, [spec], option<boolean>(arg, 'allowNonLoopback', 'boolean'));
  if (allowNonLoopback === undefined) return undefined;
  noteUnencrypted(host, [spec]);
  const save = scripted
    ? { save: option<boolean>(arg, 'save', 'boolean') ?? false, autoStart: option<boolean>(arg, 'autoStart', 'boolean') ?? true }
    : await askSave();
  if (!save) return undefined;
  const [f] = await addForwards(ui, host, [spec], { label: option<string>(arg, 'label', 'string'), allowNonLoopback, start, save });
  return f;
}
