/**
 * `sshTunnels.openInBrowser`: opens `http(s)://localhost:<port>/` of a local forward (starting it
 * first if needed). A -D forward is a SOCKS proxy and a -R forward listens on the server, so for
 * those it explains how to use them instead. Scripts pass `{ id, scheme?: 'http' | 'https' }`.
 *
 * Test hook: when the environment variable SSH_TUNNELS_TEST_OPEN_EXTERNAL_LOG names a file, every
 * URL opened is also appended to it (one per line), so an end-to-end test can check the command
 * and fetch the URL itself. openExternal is still called.
 */
import fs = require('node:fs');
import vscode = require('vscode');
import { effectiveBindAddress, isLoopbackAddress } from '../core/forwardSpec';
import type { ForwardSnapshot } from '../core/model';
import { option, tunnelIdOf } from './args';
import { showError, type UiContext } from './context';
import { forwardName, hostPort, isActive } from './describe';
import { pickTunnel } from './picks';

const TEST_LOG_ENV = 'SSH_TUNNELS_TEST_OPEN_EXTERNAL_LOG';

const WILDCARD = new Set(['', '*', '0.0.0.0', '::']);

/** The host part of the URL: `localhost`, unless the forward listens on one specific other address. */
function browserHost(address: string | undefined): string {
  if (address === undefined || WILDCARD.has(address) || isLoopbackAddress(address)) return 'localhost';
  return hostPort(address, undefined);
}

async function chooseScheme(ui: UiContext, arg: unknown): Promise<string | undefined> {
  const given = option<string>(arg, 'scheme', 'string');
  if (given === 'http' || given === 'https') return given;
  const setting = ui.settings().openInBrowserScheme;
  if (setting !== 'ask') return setting;
  return vscode.window.showQuickPick(['http', 'https'], { title: 'Open with which scheme?' });
}

function explainSocks(f: ForwardSnapshot): void {
  const address = `${hostPort(f.listenAddress ?? effectiveBindAddress(f.spec), undefined)}:${f.listenPort ?? f.spec.bindPort}`;
  const curl = `curl --socks5-hostname ${address} https://example.com/`;
  const copy = 'Copy curl Command';
  void vscode.window.showInformationMessage(
    `${forwardName(f)} is a SOCKS5 proxy at ${address}, not a web page. Point a program at it — e.g. ${curl} — ` +
      `or set ${address} as SOCKS v5 proxy (with remote DNS) in the browser's or system's proxy settings.`,
    copy,
  ).then((choice) => {
    if (choice === copy) void vscode.env.clipboard.writeText(curl);
  });
}

function explainRemote(f: ForwardSnapshot): void {
  const port = f.listenPort ?? f.spec.bindPort;
  void vscode.window.showInformationMessage(
    `${forwardName(f)} listens on ${f.host} (port ${port} there), not on this machine: open it from the server's side, ` +
      `e.g. curl http://localhost:${port}/ on ${f.host}.`,
  );
}

function recordForTests(url: string): void {
  const file = process.env[TEST_LOG_ENV];
  if (file) fs.appendFileSync(file, url + '\n');
}

export async function openInBrowser(ui: UiContext, arg: unknown): Promise<string | undefined> {
  const id = tunnelIdOf(arg) ?? (await pickTunnel(ui.manager, 'Open which tunnel in the browser?', (f) => f.kind === 'local'))?.id;
  if (!id) return undefined;
  let f = ui.manager.forwardSnapshot(id);
  if (f.kind !== 'local') {
    if (f.kind === 'dynamic') explainSocks(f);
    else explainRemote(f);
    return undefined;
  }
  if (!isActive(f)) f = await ui.manager.startForward(id);
  if (f.state !== 'listening' || f.listenPort === undefined) {
    showError(ui, f.error ? `${f.sshFlag} on ${f.host}: ${f.error}` : `${forwardName(f)} is not listening yet (${f.state}); try again in a moment.`);
    return undefined;
  }
  const scheme = await chooseScheme(ui, arg);
  if (!scheme) return undefined;
  const url = `${scheme}://${browserHost(f.listenAddress)}:${f.listenPort}/`;
  await vscode.env.openExternal(vscode.Uri.parse(url));
  recordForTests(url);
  return url;
}
