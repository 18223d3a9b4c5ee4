/**
 * `sshTunnels.addFromCommand`: paste an `ssh -L … host` line, get its forwards. Scripts pass
 * `{ command, label?, save?, autoStart?, allowNonLoopback?, start? }`. What the engine does not
 * take from a command line (-i, -J, -o …) is named so the user can put it in ~/.ssh/config.
 */
import vscode = require('vscode');
import { ForwardSpecError, parseSshCommand, type SshCommand } from '../core/forwardSpec';
import type { ForwardSnapshot, ForwardSpec } from '../core/model';
import { isScripted, option } from './args';
import { addForwards, askSave, checkLocalPort, confirmNonLoopback, noteUnencrypted } from './addForward';
import type { UiContext } from './context';
import { hostPort } from './describe';

const EXAMPLE = 'ssh -N -L 9999:mailserver:110 shellserver';

function parse(text: string): SshCommand {
  const cmd = parseSshCommand(text);
  if (cmd.forwards.length === 0) throw new ForwardSpecError('The ssh command has no -L, -R or -D forward', EXAMPLE);
  return cmd;
}

function validate(text: string): string | undefined {
  if (text.trim() === '') return undefined;
  try {
    parse(text);
    return undefined;
  } catch (err) {
    if (err instanceof ForwardSpecError) return err.message;
    throw err;
  }
}

/** The destination as the engine takes it: `alias`, `user@host` or `user@host:port`. */
export function destinationOf(cmd: SshCommand): string {
  const user = cmd.user ? `${cmd.user}@` : '';
  return cmd.port === undefined ? `${user}${cmd.destination}` : `${user}${hostPort(cmd.destination, cmd.port)}`;
}

/** -g: local and dynamic forwards without a bind address listen on every interface, as in ssh. */
function applyGatewayPorts(cmd: SshCommand): ForwardSpec[] {
  return cmd.forwards.map((f) => (cmd.gatewayPorts && f.kind !== 'remote' && f.bindAddress === undefined ? { ...f, bindAddress: '*' } : f));
}

function ignoredParts(cmd: SshCommand): string[] {
  return [
    ...cmd.identityFiles.map((f) => `-i ${f}`),
    ...(cmd.jumpHosts.length ? [`-J ${cmd.jumpHosts.join(',')}`] : []),
    ...Object.entries(cmd.options).map(([k, v]) => `-o ${k}=${v}`),
  ];
}

export async function addFromCommand(ui: UiContext, arg: unknown): Promise<ForwardSnapshot[] | undefined> {
  const given = option<string>(arg, 'command', 'string');
  const scripted = isScripted(arg) && given !== undefined;
  const text = given ?? (await vscode.window.showInputBox({
    title: 'Add forwards from an ssh command',
    prompt: 'Paste an ssh command with -L, -R or -D forwards; its destination becomes the host.',
    placeHolder: EXAMPLE,
    ignoreFocusOut: true,
    validateInput: validate,
  }));
  if (!text?.trim()) return undefined;
  const cmd = parse(text);
  const host = destinationOf(cmd);
  const start = option<boolean>(arg, 'start', 'boolean') ?? true;
  if (start && !scripted) ui.manager.prestart?.();
  const ignored = ignoredParts(cmd);
  if (ignored.length) {
    void vscode.window.showWarningMessage(
      `Not taken from the command: ${ignored.join(' ')}. Put these in ~/.ssh/config under "Host ${cmd.destination}" if the tunnel needs them.`,
    );
  }
  const specs: ForwardSpec[] = [];
  for (const spec of applyGatewayPorts(cmd)) {
    const checked = scripted ? spec : await checkLocalPort(ui.manager, spec, false);
    if (!checked || checked === 'edit') return undefined;
    specs.push(checked);
  }
  const allowNonLoopback = await confirmNonLoopback(host, specs, option<boolean>(arg, 'allowNonLoopback', 'boolean'));
  if (allowNonLoopback === undefined) return undefined;
  noteUnencrypted(host, specs);
  const save = scripted
    ? { save: option<boolean>(arg, 'save', 'boolean') ?? false, autoStart: option<boolean>(arg, 'autoStart', 'boolean') ?? true }
    : await askSave();
  if (!save) return undefined;
  return addForwards(ui, host, specs, { label: option<string>(arg, 'label', 'string'), allowNonLoopback, start, save });
}
