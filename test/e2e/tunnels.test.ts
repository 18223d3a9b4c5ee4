/**
 * SSH Tunnels in a real VS Code (code-server) driven by a real browser (headless chromium),
 * against real OpenSSH sshds on 127.0.0.1. Everything goes through what a user does: the command
 * palette, the quick picks and input boxes, the tree's inline buttons, modal dialogs; and it checks
 * what a user sees (tree rows, icons and tooltips, the status bar, notifications, the "SSH Tunnels"
 * log) plus what the tunnels really do (bytes through the forwarded ports, files written).
 *
 * One VS Code session serves every test, in order (later tests build on the tunnels of earlier
 * ones); the last one takes the README's screenshot (out/e2e-artifacts/tunnels/screenshot.png,
 * copied to media/screenshot.png when that is missing or E2E_UPDATE_SCREENSHOT=1). The temp HOME's ~/.ssh/config has:
 *   fixture      sshd A, key auth, known host key
 *   newhost      sshd A, key auth, UserKnownHostsFile empty, StrictHostKeyChecking ask
 *   pwhost       sshd B, key not authorized and no keyboard-interactive: password prompts
 *   changedhost  sshd C, whose host keys were regenerated after its known_hosts was written
 *
 * Skips (never fails) without the prerequisites: `bash test/setup.sh` (root, OpenSSH, chromium,
 * code-server) and a built extension (`npm run build`). Run: `npm run test:e2e`.
 */
import { after, before, describe, test, type TestContext } from 'node:test';
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { liveProcessGroups, missingPrerequisites, repoRoot, startVsCode, type TreeItemInfo, type VsCodeSession } from './harness';
import { SSHD_PATH, freePort, renderSshConfig, sshConfigEntryFor, startSshd, type Sshd } from '../fixtures/sshd';
import { cmdline, readProcs } from '../fixtures/processTable';
import { echoThrough, isBound, sendAndCollect, socksConnect, startEchoServer, startHttpServer, waitForBound, type TestServer } from '../fixtures/servers';

const root = repoRoot();
const artifacts = path.join(root, 'out', 'e2e-artifacts', 'tunnels');
const SCREENSHOT = path.join(root, 'media', 'screenshot.png');
const ADD_LOCAL = 'SSH Tunnels: Add Local Forward (-L)…';
const ADD_REMOTE = 'SSH Tunnels: Add Remote Forward (-R)…';
const ADD_DYNAMIC = 'SSH Tunnels: Add Dynamic Forward (-D, SOCKS)…';
const ADD_FROM_COMMAND = 'SSH Tunnels: Add Forwards from ssh Command…';
const WRONG_PASSWORD = 'not-the-password-9d2e';

function whyNotRunnable(): string | undefined {
  const missing = missingPrerequisites();
  if (missing.length) return `e2e prerequisites missing (${missing.join('; ')}); run "bash test/setup.sh" (as root) to make these tests runnable`;
  if (process.getuid?.() !== 0) return 'the sshd fixture needs root (it creates a local test user and runs sshd)';
  if (!fs.existsSync(SSHD_PATH)) return `${SSHD_PATH} not installed; run "bash test/setup.sh"`;
  if (!fs.existsSync(path.join(root, 'dist', 'extension.js'))) return 'dist/extension.js missing; run "npm run build" first (npm run test:e2e does)';
  return undefined;
}
const skipReason = whyNotRunnable();

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function eventually<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`);
    await sleep(200);
  }
}

// ------------------------------------------------------------------------------ the session

let vs: VsCodeSession | undefined;
let sshdA: Sshd | undefined;
let sshdB: Sshd | undefined;
let sshdC: Sshd | undefined;
let echo: TestServer | undefined;
let web: TestServer | undefined;
let home = '';
let openLog = '';
let newhostKnownHosts = '';
const webBody = `served through the SSH tunnel ${randomBytes(8).toString('hex')}`;

/** The session, for code that runs only after `before` succeeded. */
function session(): VsCodeSession {
  if (!vs) throw new Error('VS Code session not started');
  return vs;
}

// --------------------------------------------------------------------------------- helpers

const flag = (kind: 'L' | 'R', port: number, targetPort: number) => `-${kind} ${port}:127.0.0.1:${targetPort}`;

/** The tree row whose label is exactly `label`, once it satisfies `ok`. */
async function treeItem(label: string, ok: (i: TreeItemInfo) => boolean = () => true, what = 'the expected state', timeoutMs = 20_000): Promise<TreeItemInfo> {
  let last: TreeItemInfo[] = [];
  try {
    return await eventually(`tree row "${label}" in ${what}`, async () => {
      last = await session().treeItems();
      const it = last.find((i) => i.label === label);
      return it && ok(it) ? it : undefined;
    }, timeoutMs);
  } catch (e) {
    (e as Error).message += `\ntree rows: ${JSON.stringify(last, null, 1)}`;
    throw e;
  }
}

/** The host row `alias` and the rows under it (up to the next root). */
async function hostChildren(alias: string): Promise<TreeItemInfo[]> {
  const items = await session().treeItems();
  const at = items.findIndex((i) => i.level === 1 && i.label === alias);
  if (at < 0) return [];
  const out: TreeItemInfo[] = [];
  for (const i of items.slice(at + 1)) {
    if (i.level === 1) break;
    out.push(i);
  }
  return out;
}

const STATUS_ITEM = '.statusbar-item[id="ssh-tunnels.ssh-tunnels.sshTunnels.status"]';

/** The SSH Tunnels status bar item: its accessible label and its text, or undefined while hidden. */
async function statusItem(): Promise<{ label: string; text: string } | undefined> {
  const item = session().page.locator(STATUS_ITEM);
  if (!(await item.isVisible())) return undefined;
  return {
    label: (await item.getAttribute('aria-label')) ?? '',
    text: (await item.innerText()).replace(/\s+/g, ' ').trim(),
  };
}

interface StatusCounts {
  listening: number;
  total: number;
  troubled: boolean;
}

/** What the status bar item says: "SSH Tunnels: 2 of 3 listening[, some with problems]"; 0 of 0 while hidden. */
async function statusCounts(): Promise<StatusCounts> {
  const item = await statusItem();
  if (!item) return { listening: 0, total: 0, troubled: false };
  const m = /^SSH Tunnels: (\d+) of (\d+) listening(, some with problems)?$/.exec(item.label);
  assert.ok(m, `unexpected status bar label "${item.label}"`);
  assert.equal(item.text, m[1], 'the status bar text is not the number listening');
  return { listening: Number(m[1]), total: Number(m[2]), troubled: m[3] !== undefined };
}

/** Waits until the status bar says `counts`. */
async function waitForCounts(counts: StatusCounts): Promise<void> {
  const label = `SSH Tunnels: ${counts.listening} of ${counts.total} listening${counts.troubled ? ', some with problems' : ''}`;
  await waitForStatus(new RegExp(`^${label}$`));
}

async function waitForStatus(match: RegExp): Promise<{ label: string; text: string }> {
  let last: { label: string; text: string } | undefined;
  try {
    return await eventually(`status bar item matching ${match}`, async () => {
      last = await statusItem();
      return last && match.test(last.label) ? last : undefined;
    });
  } catch (e) {
    (e as Error).message += `\nstatus item: ${JSON.stringify(last)}`;
    throw e;
  }
}

async function channelLog(): Promise<string> {
  return (await session().outputChannel('SSH Tunnels')) ?? '';
}

async function waitForLogLine(pattern: RegExp | string): Promise<string> {
  const test = (s: string) => (typeof pattern === 'string' ? s.includes(pattern) : pattern.test(s));
  try {
    return await eventually(`"${String(pattern)}" in the SSH Tunnels log channel`, async () => {
      const text = await channelLog();
      return test(text) ? text : undefined;
    });
  } catch (e) {
    (e as Error).message += `\nlog channel:\n${(await channelLog()).slice(-3000)}`;
    throw e;
  }
}

/**
 * The palette flow of "Add Local/Remote Forward": run the command, pick `host` (typing its name
 * and Enter, as a user would), type `spec` into the input box, then "This session only" or "Save".
 */
async function addForwardFromPalette(kind: 'local' | 'remote' | 'dynamic', host: string, spec: string, keep: 'This session only' | 'Save'): Promise<void> {
  const s = session();
  const qi = s.quickInput;
  await s.runCommand(kind === 'local' ? ADD_LOCAL : kind === 'remote' ? ADD_REMOTE : ADD_DYNAMIC);
  await qi.waitForTitle('through which host?');
  await qi.waitForItem(host);
  await qi.type(host);
  await eventually(`only "${host}" offered after typing it`, async () => {
    const items = await qi.items();
    return items.length > 0 && items[0] === host ? true : undefined;
  });
  await qi.accept();

  await qi.waitForTitle(kind === 'dynamic' ? `forward (-D, SOCKS) on ${host}` : `forward (-${kind === 'local' ? 'L' : 'R'}) on ${host}`);
  await qi.type(spec);
  // live validation: a valid forward leaves the prompt (an error would replace it)
  const prompt = kind === 'dynamic' ? '[bind_address:]port — ' : '[bind_address:]port:host:hostport';
  await eventually('the input box to accept the forward', async () => ((await qi.message()).startsWith(prompt) ? true : undefined), 5000);
  await qi.accept();

  await keepTunnel(keep);
}

/** Answers the "Keep this tunnel?" pick that ends the add-forward flows. */
async function keepTunnel(keep: 'This session only' | 'Save'): Promise<void> {
  const qi = session().quickInput;
  await qi.waitForTitle('Keep this tunnel?');
  await qi.waitForItem(keep);
  if (keep === 'This session only') {
    await qi.type(keep);
    await eventually('"This session only" to be the only choice', async () => {
      const items = await qi.items();
      return items.length === 1 && items[0]!.includes(keep) ? true : undefined;
    });
  } else {
    // "Save" is the first (active) item; typing "Save" would leave two of them
    assert.equal((await qi.items())[0], 'Save');
  }
  await qi.accept();
}

/** Runs a test body; on failure saves a screenshot and appends what the user saw to the error. */
function uiTest(name: string, timeoutMs: number, body: (t: TestContext) => Promise<void>): void {
  test(name, { timeout: timeoutMs }, async (t) => {
    if (!vs) return t.skip('the VS Code session did not start (see the before hook)');
    const t0 = Date.now();
    try {
      await body(t);
    } catch (e) {
      const slug = name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60);
      const shot = path.join(artifacts, `failed-${slug}.png`);
      await vs.screenshot(shot).catch(() => undefined);
      const err = e as Error;
      err.message +=
        `\n--- screenshot: ${shot}` +
        `\n--- notifications: ${JSON.stringify(await vs.notifications().catch(() => []))}` +
        `\n--- quick input: ${JSON.stringify(await vs.quickInput.title().catch(() => ''))} ${JSON.stringify(await vs.quickInput.items().catch(() => []))}` +
        `\n--- dialog: ${JSON.stringify(await vs.dialogs.current().catch(() => undefined))}`;
      throw err;
    } finally {
      t.diagnostic(`${name}: ${Date.now() - t0} ms`);
    }
  });
}

// ------------------------------------------------------------------------------------ tests

/** Processes running SSH Tunnels' engine script (dist/engineWorker.js), with their parent's command line. */
function engineProcesses(): Array<{ pid: number; parent: string }> {
  return [...readProcs().values()]
    .filter((p) => p.state !== 'Z' && cmdline(p.pid).some((a) => a.endsWith(path.join('dist', 'engineWorker.js'))))
    .map((p) => ({ pid: p.pid, parent: cmdline(p.ppid).join(' ') }));
}

/** Waits (≤ 15 s) until exactly one engine process runs, and returns it. */
async function oneEngineProcess(what: string): Promise<{ pid: number; parent: string }> {
  const [engine] = await eventually(what, () => {
    const engines = engineProcesses();
    return engines.length === 1 ? engines : undefined;
  }, 15_000);
  return engine;
}

describe('SSH Tunnels in a browser-driven VS Code, against real sshds', { skip: skipReason }, () => {
  let localPort = 0;
  let webPort = 0;
  let remotePort = 0;
  let pwPort = 0;
  let newhostPort = 0;
  let changedPort = 0;
  let dynamicPort = 0;

  before(async () => {
    const t0 = Date.now();
    fs.rmSync(artifacts, { recursive: true, force: true });
    fs.mkdirSync(artifacts, { recursive: true });
    [sshdA, sshdB, sshdC, echo, web] = await Promise.all([
      startSshd(),
      startSshd({ authorizeClientKey: false, authorizePassphrasedKey: false, extraConfig: ['KbdInteractiveAuthentication no'] }),
      startSshd({ authorizeClientKey: false, authorizePassphrasedKey: false, hostKeyTypes: ['ed25519'] }),
      startEchoServer(),
      startHttpServer(webBody),
    ]);
    // new host keys for C; its knownHostsFile keeps the old ones
    await sshdC.regenerateHostKeys();
    // Below the kernel's ephemeral range (freePort): the suite's tunnels take these ports and give
    // them back for minutes while code-server, its extension host and Chromium keep binding
    // ephemeral ones.
    const ports: number[] = [];
    for (let i = 0; i < 7; i++) ports.push(await freePort());
    [localPort, webPort, remotePort, pwPort, newhostPort, changedPort, dynamicPort] = ports as [number, number, number, number, number, number, number];

    home = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-tunnels-home-'));
    const sshDir = path.join(home, '.ssh');
    fs.mkdirSync(sshDir, { mode: 0o700 });
    newhostKnownHosts = path.join(sshDir, 'known_hosts_newhost');
    fs.writeFileSync(newhostKnownHosts, '', { mode: 0o600 });
    openLog = path.join(home, 'opened-urls.log');
    const common = { extra: ['IdentityAgent none'] };
    fs.writeFileSync(
      path.join(sshDir, 'config'),
      renderSshConfig([
        sshConfigEntryFor(sshdA, 'fixture', common),
        sshConfigEntryFor(sshdA, 'newhost', { ...common, userKnownHostsFile: newhostKnownHosts, strictHostKeyChecking: 'ask' }),
        sshConfigEntryFor(sshdB, 'pwhost', { ...common, strictHostKeyChecking: 'ask' }),
        sshConfigEntryFor(sshdC, 'changedhost', { ...common, strictHostKeyChecking: 'ask' }),
      ]),
      { mode: 0o600 },
    );

    vs = await startVsCode({
      extensionDir: root,
      env: { HOME: home, SSH_TUNNELS_TEST_OPEN_EXTERNAL_LOG: openLog, SSH_AUTH_SOCK: '' },
      settings: { 'remote.autoForwardPorts': false, 'workbench.colorTheme': 'Default Dark Modern' },
      viewport: { width: 1200, height: 720 },
      deviceScaleFactor: 2,
      artifactsDir: artifacts,
      startTimeoutMs: 180_000,
    });
    process.stderr.write(`# e2e tunnels: VS Code ready after ${Date.now() - t0} ms (${vs.installNote})\n`);
    await vs.openViewContainer('SSH Tunnels');
  }, { timeout: 240_000 });

  after(async () => {
    await vs?.close();
    await Promise.all([sshdA?.dispose(), sshdB?.dispose(), sshdC?.dispose(), echo?.close(), web?.close()]);
    if (home) fs.rmSync(home, { recursive: true, force: true });
    assert.deepEqual(liveProcessGroups(), [], 'code-server / chromium process groups left behind');
  }, { timeout: 60_000 });

  uiTest('-L from the palette: tree shows it listening, status bar counts it, log says so, bytes echo through sshd', 90_000, async () => {
    const s = session();
    await treeItem('fixture', (i) => i.level === 1, 'the host list');
    assert.equal(await statusItem(), undefined, 'the status bar item shows only once there are tunnels');

    const spec = `${localPort}:127.0.0.1:${echo!.port}`;
    await addForwardFromPalette('local', 'fixture', spec, 'This session only');
    await s.quickInput.waitForClosed();

    const label = flag('L', localPort, echo!.port);
    const row = await treeItem(label, (i) => i.icon === 'pass-filled', 'the listening state');
    assert.equal(row.level, 2);
    assert.equal(row.description, `127.0.0.1:${localPort} → 127.0.0.1:${echo!.port}`);
    assert.deepEqual(row.actions, ['Open in Browser', 'Stop Tunnel']);
    assert.deepEqual((await hostChildren('fixture')).map((i) => i.label), [label]);
    const host = await treeItem('fixture', (i) => i.icon === 'vm-active', 'connected');
    assert.equal(host.expanded, true);
    assert.match(await s.treeItemTooltip(label), new RegExp(`Listening since .* via fixture[\\s\\S]*ssh -N -L ${localPort}:127\\.0\\.0\\.1:${echo!.port} fixture`));

    const status = await waitForStatus(/^SSH Tunnels: 1 of 1 listening$/);
    assert.equal(status.text, '1');

    await waitForLogLine(`Local forwarding listening on 127.0.0.1 port ${localPort}.`);
    assert.ok(isBound(localPort), `nothing listens on 127.0.0.1:${localPort}`);

    const payload = randomBytes(256 * 1024);
    const before = echo!.connectionCount;
    const back = await echoThrough(localPort, payload);
    assert.ok(back.equals(payload), `echo through the tunnel returned ${back.length} bytes, not the ${payload.length} sent`);
    assert.equal(echo!.connectionCount, before + 1);
    // it went through sshd: the server opened the direct-tcpip channel to the echo server
    await sshdA!.waitForLog(new RegExp(`originator 127\\.0\\.0\\.1 port \\d+, target 127\\.0\\.0\\.1 port ${echo!.port}`), 10_000);
    await waitForLogLine(`Connection to port ${localPort} forwarding to 127.0.0.1 port ${echo!.port} requested.`);
    // The engine runs in a process of its own, started by the extension host (not a thread of it:
    // VS Code forks the extension host, and every page an engine inside it writes would fault again).
    const engines = engineProcesses();
    assert.equal(engines.length, 1, `one engine process: ${JSON.stringify(engines)}`);
    assert.match(engines[0]!.parent, /--type=extensionHost/);
  });

  uiTest('the inline stop button closes the port, the start button opens it again and data flows', 90_000, async () => {
    const s = session();
    const label = flag('L', localPort, echo!.port);
    await treeItem(label, (i) => i.icon === 'pass-filled', 'the listening state');
    const counts = await statusCounts();

    await s.clickTreeItemAction(label, 'Stop Tunnel');
    await waitForBound(localPort, false, 15_000);
    const stopped = await treeItem(label, (i) => i.icon === 'circle-outline', 'the stopped state');
    assert.deepEqual(stopped.actions, ['Start Tunnel']);
    await waitForCounts({ ...counts, listening: counts.listening - 1 });
    await assert.rejects(echoThrough(localPort, Buffer.from('nobody home'), '127.0.0.1', 3000), /ECONNREFUSED/);

    await s.clickTreeItemAction(label, 'Start Tunnel');
    await waitForBound(localPort, true, 15_000);
    const started = await treeItem(label, (i) => i.icon === 'pass-filled', 'the listening state again');
    assert.deepEqual(started.actions, ['Open in Browser', 'Stop Tunnel']);
    await waitForCounts(counts);
    const payload = randomBytes(64 * 1024);
    assert.ok((await echoThrough(localPort, payload)).equals(payload), 'no echo after restarting the tunnel');
  });

  uiTest('"Open in Browser" on a saved tunnel opens a page served through the tunnel', 90_000, async (t) => {
    const s = session();
    const counts = await statusCounts();
    await addForwardFromPalette('local', 'fixture', `${webPort}:127.0.0.1:${web!.port}`, 'Save');
    const label = flag('L', webPort, web!.port);
    await treeItem(label, (i) => i.icon === 'pass-filled', 'the listening state');
    await waitForCounts({ ...counts, listening: counts.listening + 1, total: counts.total + 1 });

    // "Save" put it into the user settings
    const settingsFile = path.join(s.userDataDir, 'User', 'settings.json');
    const saved = await eventually('the tunnel in sshTunnels.tunnels', () => {
      const list = (JSON.parse(fs.readFileSync(settingsFile, 'utf8')) as Record<string, unknown>)['sshTunnels.tunnels'];
      return Array.isArray(list) && list.length ? (list as Record<string, unknown>[]) : undefined;
    });
    assert.equal(saved.length, 1);
    assert.equal(saved[0]!.host, 'fixture');
    assert.equal(saved[0]!.spec, `-L ${webPort}:127.0.0.1:${web!.port}`);
    assert.equal(saved[0]!.autoStart, true);

    const pagesBefore = new Set(s.page.context().pages());
    const servedBefore = web!.connectionCount;
    await s.clickTreeItemAction(label, 'Open in Browser');
    const url = await eventually('the URL passed to openExternal', () => {
      const lines = fs.existsSync(openLog) ? fs.readFileSync(openLog, 'utf8').split('\n').filter(Boolean) : [];
      return lines.at(-1);
    });
    assert.equal(url, `http://localhost:${webPort}/`);
    // VS Code (code-server) may open its own tab for it: close it, and load the URL ourselves
    await sleep(500);
    const opened = s.page.context().pages().filter((p) => !pagesBefore.has(p));
    t.diagnostic(`openExternal opened ${opened.length} tab(s): ${opened.map((p) => p.url()).join(', ')}`);
    for (const p of opened) await p.close().catch(() => undefined);

    const page = await s.page.context().newPage();
    try {
      const response = await page.goto(url, { waitUntil: 'load', timeout: 20_000 });
      assert.equal(response?.status(), 200);
      assert.equal((await page.locator('body').innerText()).trim(), webBody);
    } finally {
      await page.close();
    }
    assert.ok(web!.connectionCount > servedBefore, 'the HTTP server behind sshd saw no request');
    await sshdA!.waitForLog(new RegExp(`target 127\\.0\\.0\\.1 port ${web!.port}`), 10_000);
  });

  uiTest('-R from the palette: the port on the server side reaches the local echo server', 90_000, async () => {
    const counts = await statusCounts();
    await addForwardFromPalette('remote', 'fixture', `${remotePort}:127.0.0.1:${echo!.port}`, 'This session only');
    const label = flag('R', remotePort, echo!.port);
    const row = await treeItem(label, (i) => i.icon === 'pass-filled', 'the listening state');
    assert.match(row.description, new RegExp(`:${remotePort} on fixture → 127\\.0\\.0\\.1:${echo!.port}$`));
    assert.deepEqual(row.actions, ['Stop Tunnel'], 'a -R tunnel has no "Open in Browser"');
    await waitForCounts({ ...counts, listening: counts.listening + 1, total: counts.total + 1 });
    await waitForLogLine(new RegExp(`Remote connections from \\S+:${remotePort} forwarded to local address 127\\.0\\.0\\.1:${echo!.port}`));

    // sshd listens on the server side (this machine's loopback, as the server is local)
    await waitForBound(remotePort, true, 10_000);
    const payload = randomBytes(128 * 1024);
    const back = await echoThrough(remotePort, payload);
    assert.ok(back.equals(payload), `echo through the -R tunnel returned ${back.length} bytes, not ${payload.length}`);
    await waitForLogLine(/new \[forwarded-tcpip\] connect from 127\.0\.0\.1 port \d+/);
  });

  uiTest('-D from the palette: a SOCKS5 client reaches the echo server through the engine\'s TCP handles', 90_000, async () => {
    const counts = await statusCounts();
    await addForwardFromPalette('dynamic', 'fixture', `${dynamicPort}`, 'This session only');
    const row = await treeItem(`-D ${dynamicPort}`, (i) => i.icon === 'pass-filled', 'the listening state');
    assert.equal(row.description, `127.0.0.1:${dynamicPort} (SOCKS)`);
    await waitForCounts({ ...counts, listening: counts.listening + 1, total: counts.total + 1 });
    await waitForLogLine(`Local dynamic forwarding listening on 127.0.0.1 port ${dynamicPort}.`);

    // The engine process runs on code-server's Node: the SOCKS handshake is read from the handle
    // there too (a Node without the handle API would say so once in this log).
    for (const [host, data] of [['127.0.0.1', randomBytes(128 * 1024)], ['localhost', randomBytes(4096)]] as const) {
      const s = await socksConnect(dynamicPort, host, echo!.port, 5);
      const back = await sendAndCollect(s, data);
      assert.ok(back.equals(data), `SOCKS5 to ${host}: ${back.length} bytes came back, not ${data.length}`);
    }
    await waitForLogLine(`Connection to port ${dynamicPort} forwarding to localhost port ${echo!.port} requested.`);
    await sshdA!.waitForLog(new RegExp(`originator 127\\.0\\.0\\.1 port \\d+, target localhost port ${echo!.port}`), 10_000);
    assert.doesNotMatch(await channelLog(), /lacks the TCP handle API/);
  });

  uiTest('inline buttons work while a tunnel is flooded with connections, and the tree keeps up', 90_000, async () => {
    const s = session();
    const busy = flag('L', localPort, echo!.port);
    const other = flag('R', remotePort, echo!.port);
    await treeItem(busy, (i) => i.icon === 'pass-filled', 'the listening state');
    await treeItem(other, (i) => i.icon === 'pass-filled', 'the listening state');
    const counts = await statusCounts();
    // back-to-back short connections through the -L tunnel: its row changes hundreds of times a second
    let flooding = true;
    let served = 0;
    const pump = async (): Promise<void> => {
      while (flooding) {
        try {
          await echoThrough(localPort, Buffer.alloc(512), '127.0.0.1', 5000);
          served++;
        } catch {
          await sleep(50);
        }
      }
    };
    const pumps = [pump(), pump(), pump()];
    /** Clicks an inline button; a pick list instead means the command ran without its tree item. */
    const click = async (label: string, action: string): Promise<void> => {
      await s.clickTreeItemAction(label, action);
      await sleep(300);
      if (await s.quickInput.isOpen()) {
        const items = await s.quickInput.items();
        await s.quickInput.cancel();
        assert.fail(`"${action}" on ${label} opened a pick list (${items.join(', ')}) instead of acting on that row`);
      }
    };
    try {
      await sleep(1500);
      for (let round = 0; round < 2; round++) {
        await click(other, 'Stop Tunnel');
        await treeItem(other, (i) => i.icon === 'circle-outline' && i.actions.join() === 'Start Tunnel', 'the stopped state', 10_000);
        await waitForBound(remotePort, false, 10_000);
        await click(other, 'Start Tunnel');
        await treeItem(other, (i) => i.icon === 'pass-filled' && i.actions.join() === 'Stop Tunnel', 'the listening state', 10_000);
        await waitForBound(remotePort, true, 10_000);
      }
      // the busy tunnel itself
      await click(busy, 'Stop Tunnel');
      await treeItem(busy, (i) => i.icon === 'circle-outline', 'the stopped state', 10_000);
      await waitForBound(localPort, false, 10_000);
    } finally {
      flooding = false;
      await Promise.all(pumps);
    }
    assert.ok(served > 100, `only ${served} connections went through the busy tunnel`);
    await click(busy, 'Start Tunnel');
    await treeItem(busy, (i) => i.icon === 'pass-filled', 'the listening state', 10_000);
    await waitForBound(localPort, true, 10_000);
    await waitForCounts(counts);
    const payload = randomBytes(16 * 1024);
    assert.ok((await echoThrough(remotePort, payload)).equals(payload), 'no echo through the restarted -R tunnel');
    assert.ok((await echoThrough(localPort, payload)).equals(payload), 'no echo through the restarted -L tunnel');
  });

  uiTest('a wrong password three times: error in the tree and a "Permission denied" notification', 120_000, async () => {
    const s = session();
    const qi = s.quickInput;
    const counts = await statusCounts();
    await addForwardFromPalette('local', 'pwhost', `${pwPort}:127.0.0.1:${echo!.port}`, 'This session only');
    for (let attempt = 1; attempt <= 3; attempt++) {
      const title = await qi.waitForTitle('SSH password', 30_000);
      assert.equal(title, `SSH password — ${sshdB!.user}@pwhost`);
      assert.equal(await qi.isPassword(), true, 'the password box shows what is typed');
      const prompt = await qi.message();
      if (attempt === 1) assert.match(prompt, new RegExp(`^${sshdB!.user}@pwhost's password:`));
      else assert.match(prompt, new RegExp(`^Permission denied, please try again\\. ${sshdB!.user}@pwhost's password:`));
      await qi.type(WRONG_PASSWORD);
      await qi.accept();
      await qi.waitForClosed(10_000);
    }
    const message = await s.waitForNotification(/Permission denied/, 30_000);
    assert.match(message, new RegExp(`-L ${pwPort}:127\\.0\\.0\\.1:${echo!.port} on pwhost: ${sshdB!.user}@127\\.0\\.0\\.1: Permission denied \\(publickey,password\\)`));

    const label = flag('L', pwPort, echo!.port);
    const row = await treeItem(label, (i) => i.icon === 'error', 'the error state');
    assert.deepEqual(row.actions, ['Start Tunnel']);
    assert.match(await s.treeItemTooltip(label), /Permission denied \(publickey,password\)/);
    await waitForCounts({ listening: counts.listening, total: counts.total + 1, troubled: true });
    assert.equal(isBound(pwPort), false);
    // no fourth prompt, and sshd saw exactly three wrong passwords
    await sleep(1000);
    assert.equal(await qi.isOpen(), false, 'another password prompt appeared after three attempts');
    assert.equal(sshdB!.log().match(/Failed password for /g)?.length, 3, sshdB!.log().slice(-2000));
    assert.ok(!(await channelLog()).includes(WRONG_PASSWORD), 'the typed password shows up in the log channel');
  });

  uiTest('a password box closes by itself when its tunnel is stopped while it asks', 90_000, async () => {
    const s = session();
    const qi = s.quickInput;
    const label = flag('L', pwPort, echo!.port);
    const failed = (): number => sshdB!.log().match(/Failed password for /g)?.length ?? 0;
    const failedBefore = failed();
    const shownBefore = await s.notifications();
    await s.clickTreeItemAction(label, 'Start Tunnel');
    await qi.waitForTitle('SSH password', 30_000);
    await treeItem(label, (i) => i.actions.join() === 'Stop Tunnel', 'the starting state', 10_000);
    await s.clickTreeItemAction(label, 'Stop Tunnel');
    // The question is withdrawn: the box goes away without being answered or cancelled.
    await qi.waitForClosed(10_000);
    await treeItem(label, (i) => i.icon === 'circle-outline', 'the stopped state', 10_000);
    assert.equal(isBound(pwPort), false);
    await sleep(1000);
    assert.equal(await qi.isOpen(), false, 'a password box came back after the stop');
    assert.equal(failed(), failedBefore, 'a password was sent after the stop');
    const errors = (await s.notifications()).filter((n) => !shownBefore.includes(n) && /pwhost|cancelled|no longer wanted/i.test(n));
    assert.deepEqual(errors, [], 'the stop was reported as a failure');
  });

  uiTest('an unknown host key: a modal shows the SHA256 fingerprint; accepting connects and records the key', 90_000, async () => {
    const s = session();
    const counts = await statusCounts();
    await addForwardFromPalette('local', 'newhost', `${newhostPort}:127.0.0.1:${echo!.port}`, 'This session only');
    const dialog = await s.dialogs.waitFor("can't be established", 30_000);
    assert.equal(dialog.message, `The authenticity of host '[127.0.0.1]:${sshdA!.port}' can't be established.`);
    const fp = /fingerprint is (SHA256:[A-Za-z0-9+/]+)/.exec(dialog.detail)?.[1];
    assert.ok(fp, `no SHA256 fingerprint in the dialog: ${dialog.detail}`);
    assert.ok(sshdA!.hostKeyFingerprints.includes(fp), `${fp} is none of the server's host keys ${sshdA!.hostKeyFingerprints.join(', ')}`);
    assert.ok(dialog.detail.includes(newhostKnownHosts), `the dialog does not say where the key goes: ${dialog.detail}`);
    assert.ok(dialog.buttons.some((b) => b === 'Accept and Connect'), `buttons: ${dialog.buttons.join(', ')}`);
    assert.equal(fs.readFileSync(newhostKnownHosts, 'utf8'), '', 'the key was written before it was accepted');

    await s.dialogs.click('Accept and Connect');
    const label = flag('L', newhostPort, echo!.port);
    await treeItem(label, (i) => i.icon === 'pass-filled', 'the listening state');
    await waitForBound(newhostPort, true, 10_000);
    const payload = randomBytes(32 * 1024);
    assert.ok((await echoThrough(newhostPort, payload)).equals(payload), 'no echo through the newly trusted host');

    const written = fs.readFileSync(newhostKnownHosts, 'utf8').trim().split('\n');
    assert.equal(written.length, 1, `known_hosts: ${written.join('\n')}`);
    assert.ok(sshdA!.knownHostsLines().includes(written[0]!), `recorded "${written[0]}", not one of the server's keys`);
    await waitForCounts({ ...counts, listening: counts.listening + 1, total: counts.total + 1 });
  });

  uiTest('a changed host key is refused with "REMOTE HOST IDENTIFICATION HAS CHANGED" and no password prompt', 90_000, async () => {
    const s = session();
    const counts = await statusCounts();
    await addForwardFromPalette('local', 'changedhost', `${changedPort}:127.0.0.1:${echo!.port}`, 'This session only');
    // watch for any prompt while the connection is refused
    const seen = new Set<string>();
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const title = await s.quickInput.title().catch(() => '');
        if (title && title !== 'Keep this tunnel?') seen.add(`quick input: ${title}`);
        const d = await s.dialogs.current().catch(() => undefined);
        if (d) seen.add(`dialog: ${d.message}`);
        await sleep(100);
      }
    })();
    let message: string;
    try {
      message = await s.waitForNotification('REMOTE HOST IDENTIFICATION HAS CHANGED', 30_000);
      await sleep(1000);
    } finally {
      watching = false;
      await watcher;
    }
    assert.deepEqual([...seen], [], 'a prompt appeared for a host whose key changed');
    assert.match(message, new RegExp(`^-L ${changedPort}:127\\.0\\.0\\.1:${echo!.port} on changedhost: `));

    const label = flag('L', changedPort, echo!.port);
    const row = await treeItem(label, (i) => i.icon === 'error', 'the error state');
    assert.deepEqual(row.actions, ['Start Tunnel']);
    const tooltip = await s.treeItemTooltip(label);
    assert.match(tooltip, /REMOTE HOST IDENTIFICATION HAS CHANGED/);
    assert.ok(tooltip.includes(sshdC!.hostKeyFingerprints[0]!), `the tooltip does not show the new fingerprint:\n${tooltip}`);
    const log = await waitForLogLine('WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!');
    assert.match(log, /Host key verification failed\./);
    // the server never got as far as authentication
    assert.doesNotMatch(sshdC!.log(), /userauth-request|Failed password|Accepted /);
    assert.equal(isBound(changedPort), false);
    await waitForCounts({ listening: counts.listening, total: counts.total + 1, troubled: true });
  });

  uiTest('screenshot of the tree with listening, stopped and failed tunnels (media/screenshot.png)', 90_000, async (t) => {
    const s = session();
    // one stopped tunnel, through its inline button
    const webLabel = flag('L', webPort, web!.port);
    const counts = await statusCounts();
    await s.clickTreeItemAction(webLabel, 'Stop Tunnel');
    await treeItem(webLabel, (i) => i.icon === 'circle-outline', 'the stopped state');
    await waitForCounts({ ...counts, listening: counts.listening - 1 });
    const icons = (await s.treeItems()).filter((i) => i.level === 2).map((i) => i.icon);
    for (const icon of ['pass-filled', 'circle-outline', 'error']) assert.ok(icons.includes(icon), `no ${icon} tunnel in ${icons.join(', ')}`);

    // the log under the editor, notifications cleared, the side bar wide enough for the descriptions
    await s.runCommand('SSH Tunnels: Show Log');
    await s.page.locator('.part.panel').waitFor({ state: 'visible' });
    await s.runCommand('Notifications: Clear All Notifications');
    const sidebar = (await s.page.locator('.part.sidebar').boundingBox())!;
    await dragSash('vertical', sidebar.x + sidebar.width, 270);
    const panel = (await s.page.locator('.part.panel').boundingBox())!;
    await dragSash('horizontal', panel.y, -260);
    await s.page.mouse.move(900, 100);
    await sleep(800);
    const viewport = s.page.viewportSize()!;
    const shot = path.join(artifacts, 'screenshot.png');
    await s.screenshot(shot, { clip: { x: 0, y: 0, width: viewport.width, height: viewport.height } });
    assert.ok(fs.statSync(shot).size > 50_000, 'the screenshot looks empty');
    // media/screenshot.png (the README's) changes only when asked, so test runs leave the tree clean
    if (process.env.E2E_UPDATE_SCREENSHOT === '1' || !fs.existsSync(SCREENSHOT)) {
      fs.copyFileSync(shot, SCREENSHOT);
      t.diagnostic(`saved ${SCREENSHOT} (${fs.statSync(SCREENSHOT).size} bytes)`);
    } else {
      t.diagnostic(`saved ${shot}; E2E_UPDATE_SCREENSHOT=1 copies it to ${SCREENSHOT}`);
    }
  });
});

/** Drags the workbench sash (between parts) that lies at `at` (x for vertical, y for horizontal) by `by` pixels. */
async function dragSash(orientation: 'vertical' | 'horizontal', at: number, by: number): Promise<void> {
  const page = session().page;
  const boxes = await page.locator(`.monaco-workbench .monaco-sash.${orientation}`).evaluateAll((els) =>
    els.map((e) => {
      const r = e.getBoundingClientRect();
      return { x: r.x + r.width / 2, y: r.y + r.height / 2, w: r.width, h: r.height };
    }),
  );
  const sash = boxes
    .filter((b) => b.w > 0 && b.h > 0)
    .sort((a, b) => Math.abs((orientation === 'vertical' ? a.x : a.y) - at) - Math.abs((orientation === 'vertical' ? b.x : b.y) - at))[0];
  assert.ok(sash && Math.abs((orientation === 'vertical' ? sash.x : sash.y) - at) < 8, `no ${orientation} sash at ${at}: ${JSON.stringify(boxes)}`);
  await page.mouse.move(sash.x, sash.y);
  await sleep(100);
  await page.mouse.down();
  const to = orientation === 'vertical' ? { x: sash.x + by, y: sash.y } : { x: sash.x, y: sash.y + by };
  await page.mouse.move(to.x, to.y, { steps: 10 });
  await page.mouse.up();
  await sleep(200);
}

/**
 * A VS Code window of its own for a describe: sshd A as the ssh config's only host ("fixture"), an
 * echo server, the SSH Tunnels view open; `settings` (read once sshd and the echo server are up)
 * are added to the window's.
 */
async function openOneHostWindow(name: string, settings: () => Record<string, unknown>): Promise<void> {
  [sshdA, echo] = await Promise.all([startSshd(), startEchoServer()]);
  home = fs.mkdtempSync(path.join(os.tmpdir(), `e2e-${name}-home-`));
  fs.mkdirSync(path.join(home, '.ssh'), { mode: 0o700 });
  fs.writeFileSync(path.join(home, '.ssh', 'config'), renderSshConfig([sshConfigEntryFor(sshdA, 'fixture', { extra: ['IdentityAgent none'] })]), { mode: 0o600 });
  vs = await startVsCode({
    extensionDir: root,
    env: { HOME: home, SSH_AUTH_SOCK: '' },
    settings: { 'remote.autoForwardPorts': false, ...settings() },
    artifactsDir: path.join(artifacts, name),
    startTimeoutMs: 180_000,
  });
  await vs.openViewContainer('SSH Tunnels');
}

/** Ends what openOneHostWindow started; nothing of code-server or chromium may stay behind. */
async function closeOneHostWindow(): Promise<void> {
  await vs?.close();
  vs = undefined;
  await Promise.all([sshdA?.dispose(), echo?.close()]);
  if (home) fs.rmSync(home, { recursive: true, force: true });
  assert.deepEqual(liveProcessGroups(), [], 'code-server / chromium process groups left behind');
}

describe('SSH Tunnels in a window whose saved tunnels do not start by themselves', { skip: skipReason }, () => {
  let port = 0;
  const entry = (): Record<string, unknown> => ({ id: 'saved-e2e', host: 'fixture', spec: `-L ${port}:127.0.0.1:${echo!.port}`, label: 'Saved', autoStart: false });

  before(async () => {
    port = await freePort();
    await openOneHostWindow('saved', () => ({ 'sshTunnels.tunnels': [entry()] }));
  }, { timeout: 240_000 });

  after(closeOneHostWindow, { timeout: 60_000 });

  uiTest('the saved tunnel shows stopped and no engine process runs for it', 90_000, async () => {
    const row = await treeItem('Saved', (i) => i.icon === 'circle-outline', 'the stopped state');
    assert.deepEqual(row.actions, ['Start Tunnel']);
    await waitForCounts({ listening: 0, total: 1, troubled: false });
    // The extension has shown it from the saved settings; give an engine time to appear if one were started.
    await sleep(2000);
    assert.deepEqual(engineProcesses(), [], 'an engine process for a tunnel nobody started');
    assert.equal(isBound(port), false);
  });

  let prestarted = 0;
  uiTest('picking a host in "Add Local Forward" starts the engine while the forward is typed', 90_000, async () => {
    const s = session();
    const qi = s.quickInput;
    await s.runCommand(ADD_LOCAL);
    await qi.waitForTitle('through which host?');
    await qi.waitForItem('fixture');
    await qi.type('fixture');
    await eventually('only "fixture" offered after typing it', async () => ((await qi.items())[0] === 'fixture' ? true : undefined));
    await qi.accept();
    await qi.waitForTitle('forward (-L) on fixture');
    prestarted = (await oneEngineProcess('an engine process')).pid;
    await qi.cancel();
    await qi.waitForClosed(10_000);
    // Cancelled: nothing added, the saved tunnel (now the engine's) still stopped.
    await treeItem('Saved', (i) => i.icon === 'circle-outline', 'the stopped state');
    await waitForCounts({ listening: 0, total: 1, troubled: false });
    assert.equal(isBound(port), false);
  });

  uiTest('the saved tunnel\'s Start button starts it on that engine, and bytes echo', 90_000, async () => {
    const s = session();
    await s.clickTreeItemAction('Saved', 'Start Tunnel');
    await waitForBound(port, true, 15_000);
    await treeItem('Saved', (i) => i.icon === 'pass-filled', 'the listening state');
    await waitForCounts({ listening: 1, total: 1, troubled: false });
    const payload = randomBytes(64 * 1024);
    assert.ok((await echoThrough(port, payload)).equals(payload), 'no echo through the saved tunnel');
    const engines = engineProcesses();
    assert.deepEqual(engines.map((e) => e.pid), [prestarted], 'the tunnel did not start on the engine started ahead of it');
    // It keeps its compiled code between starts in the extension's global storage (NODE_COMPILE_CACHE; Node 22.1+).
    const environ = fs.readFileSync(`/proc/${engines[0].pid}/environ`, 'latin1').split('\0');
    assert.ok(environ.includes(`NODE_COMPILE_CACHE=${path.join(s.userDataDir, 'User', 'globalStorage', 'ssh-tunnels.ssh-tunnels', 'engine-compile-cache')}`),
      `the engine process's NODE_COMPILE_CACHE: ${environ.find((e) => e.startsWith('NODE_COMPILE_CACHE=')) ?? 'not set'}`);
  });
});

describe('SSH Tunnels in a window without tunnels', { skip: skipReason }, () => {
  before(() => openOneHostWindow('empty', () => ({})), { timeout: 240_000 });
  after(closeOneHostWindow, { timeout: 60_000 });

  uiTest('"Add Forwards from ssh Command" starts the engine once the command is read, and its tunnel echoes', 90_000, async () => {
    const s = session();
    const qi = s.quickInput;
    const port = await freePort();
    assert.deepEqual(engineProcesses(), [], 'an engine process before any tunnel was asked for');
    await s.runCommand(ADD_FROM_COMMAND);
    await qi.waitForTitle('Add forwards from an ssh command');
    await qi.type(`ssh -N -L ${port}:127.0.0.1:${echo!.port} fixture`);
    await qi.accept();
    await qi.waitForTitle('Keep this tunnel?');
    // The question is still open, nothing added yet: the engine was started when the command was read.
    const engine = await oneEngineProcess('an engine process while "Keep this tunnel?" is asked');
    assert.equal(isBound(port), false);
    await keepTunnel('This session only');
    await waitForBound(port, true, 15_000);
    await waitForCounts({ listening: 1, total: 1, troubled: false });
    const payload = randomBytes(64 * 1024);
    assert.ok((await echoThrough(port, payload)).equals(payload), 'no echo through the tunnel added from the command');
    assert.deepEqual(engineProcesses().map((e) => e.pid), [engine.pid], 'the tunnel did not start on the engine started ahead of it');
  });
});
