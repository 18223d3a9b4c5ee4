/**
 * EngineClient: the engine in a child process (as the extension runs it) and in a worker thread,
 * behind TunnelManager's surface, against a real sshd.
 * Bytes flow, snapshots and change events come back, errors keep their TunnelError code, prompts and
 * log lines reach this thread, and dispose ends everything.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TunnelError } from '../../src/core/errors';
import { Log, type LogLine } from '../../src/core/log';
import { allForwards, type ManagerSnapshot } from '../../src/core/model';
import { EngineClient, MAX_RESTARTS, type EngineClientOptions } from '../../src/core/worker/engineClient';
import type { Isolation } from '../../src/core/worker/engineRunner';
import { engineTunables } from '../../src/core/worker/mallocTunables';
import { eventually, ScriptedPrompter } from '../fixtures/engine';
import { echoThrough, isListening, sha256, startEchoServer, type TestServer } from '../fixtures/servers';
import { childrenOf, cmdline, readProc } from '../fixtures/processTable';
import { freePort, renderSshConfig, sshConfigEntryFor, startSshd, type SshConfigEntry, type Sshd } from '../fixtures/sshd';

const WORKER = path.join(__dirname, '..', '..', 'src', 'core', 'worker', 'workerMain.js');
const CRASHING_WORKER = path.join(__dirname, '..', 'fixtures', 'crashingWorker.js');
const EXITING_WORKER = path.join(__dirname, '..', 'fixtures', 'exitingWorker.js');
const ENGINE_OWNER = path.join(__dirname, '..', 'fixtures', 'engineOwner.js');

/** Whether a process still runs (a zombie does not). */
const runs = (pid: number): boolean => (readProc(pid)?.state ?? 'Z') !== 'Z';
/** This process's children running the engine script (workerMain.js), with their arguments. */
const engineChildren = (): Array<{ pid: number; argv: string[] }> =>
  childrenOf(process.pid).map((pid) => ({ pid, argv: cmdline(pid) })).filter((c) => c.argv.some((a) => a.endsWith('workerMain.js')));

let sshd: Sshd;
/** Where the clients of the suite running now start their engine. */
let isolation: Isolation = 'process';
let echo: TestServer;
let dir: string;

before(async () => {
  sshd = await startSshd({ hostKeyTypes: ['ed25519'] });
  echo = await startEchoServer();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sshtunnels-worker-'));
});

after(async () => {
  await echo?.close();
  await sshd?.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

function client(entry: Partial<SshConfigEntry> = {}, prompter = new ScriptedPrompter(), workerPath = WORKER, more: Partial<EngineClientOptions> = {}): { engine: EngineClient; lines: LogLine[]; log: Log; prompter: ScriptedPrompter } {
  const configFile = path.join(dir, `config-${Math.random().toString(36).slice(2)}`);
  fs.writeFileSync(configFile, renderSshConfig([sshConfigEntryFor(sshd, 'fixture', { extra: ['IdentityAgent none'], ...entry })]));
  const log = new Log('debug1');
  const lines: LogLine[] = [];
  log.onLine((l) => lines.push(l));
  const engine = new EngineClient({ log, prompter, configFile, homeDir: dir, reconnect: false, workerPath, isolation, ...more });
  return { engine, lines, log, prompter };
}

/**
 * An EngineClient with its engine in a child process and one -L tunnel (label "Echo") to the echo
 * server listening: `check` gets them and this process's one engine child; then bytes must still
 * come back through the tunnel intact, and the client is disposed.
 */
async function withOneEngineProcess(more: Partial<EngineClientOptions>, check: (t: { engine: EngineClient; lines: LogLine[]; id: string; child: { pid: number; argv: string[] } }) => Promise<void>): Promise<void> {
  const { engine, lines } = client({}, undefined, undefined, { isolation: 'process', ...more });
  try {
    const port = await freePort();
    const snap = await engine.addForward({ host: 'fixture', spec: `-L ${port}:127.0.0.1:${echo.port}`, label: 'Echo' });
    assert.equal(snap.state, 'listening', snap.error);
    const engines = engineChildren();
    assert.equal(engines.length, 1, 'one engine process, a child of this one');
    await check({ engine, lines, id: snap.id, child: engines[0]! });
    await assertEchoes(port);
  } finally {
    await engine.dispose();
  }
}

/** Random bytes of `size` through the tunnel listening on `port` must come back intact. */
async function assertEchoes(port: number, size = 64 * 1024): Promise<void> {
  const data = randomBytes(size);
  assert.equal(sha256(await echoThrough(port, data)), sha256(data), 'bytes through the tunnel intact');
}

/** An EngineClient on another worker script (a fixture), with its log lines as text. */
function clientOn(workerPath: string, name: string, aliases = ['fixture']): { engine: EngineClient; lines: string[] } {
  const log = new Log('debug1');
  const lines: string[] = [];
  log.onLine((l) => lines.push(l.text));
  const configFile = path.join(dir, `config-${name}`);
  fs.writeFileSync(configFile, renderSshConfig(aliases.map((alias) => sshConfigEntryFor(sshd, alias, { extra: ['IdentityAgent none'] }))));
  const engine = new EngineClient({ log, prompter: new ScriptedPrompter(), configFile, homeDir: dir, reconnect: false, workerPath, isolation });
  return { engine, lines };
}

for (const where of ['process', 'worker'] as const) describe(`EngineClient (engine in a ${where === 'process' ? 'child process' : 'worker thread'})`, () => {
  before(() => { isolation = where; });

  test('-L through the engine: bytes intact, snapshots, change events, labels, log lines', async () => {
    const { engine, lines } = client();
    try {
      await engine.start();
      assert.deepEqual(engine.configuredHosts().map((h) => h.alias), ['fixture']);
      assert.equal(engine.resolveHost('fixture').port, sshd.port);
      const changes: ManagerSnapshot[] = [];
      engine.onDidChange((s) => changes.push(s));
      const p = await freePort();
      const snap = await engine.addForward({ host: 'fixture', spec: `-L ${p}:127.0.0.1:${echo.port}` });
      assert.equal(snap.state, 'listening', snap.error);
      // The log shows what happened by the time the reply does (log lines are batched in the worker).
      assert.ok(lines.some((l) => /^debug1: Local forwarding listening on 127\.0\.0\.1 port \d+\.$/.test(l.text)), 'worker log lines reach this Log with their prefix once, before the reply');
      // The cache is at least as new as the reply.
      assert.equal(engine.forwardSnapshot(snap.id).state, 'listening');
      assert.equal(engine.snapshot().hosts[0]?.state, 'connected');
      const data = randomBytes(256 * 1024);
      assert.equal(sha256(await echoThrough(p, data)), sha256(data));
      await eventually('byte counters in a change event', () => changes.some((c) => c.hosts[0]?.forwards[0]?.bytesSent === data.length));
      assert.equal(engine.forwardSnapshot(snap.id).totalConnections, 1);
      assert.equal(engine.setLabel(snap.id, 'Echo').label, 'Echo');
      await eventually('label applied in the worker', () => changes.at(-1)?.hosts[0]?.forwards[0]?.label === 'Echo');
      // Per-connection debug1 lines come in batches, in order, within the batch delay.
      await eventually('the connection\'s debug1 lines', () => lines.some((l) => /^debug1: channel \d+: new \[direct-tcpip\] connect from 127\.0\.0\.1 port \d+$/.test(l.text)));
      const stopped = await engine.toggleForward(snap.id);
      assert.equal(stopped.state, 'stopped');
      assert.equal(await isListening(p), false);
      await engine.removeForward(snap.id);
      assert.throws(() => engine.forwardSnapshot(snap.id), (e: unknown) => e instanceof TunnelError && e.code === 'NOT_FOUND');
    } finally {
      await engine.dispose();
    }
  });

  test('errors keep their TunnelError code; a live connection can be closed from here', async () => {
    const { engine } = client();
    try {
      await assert.rejects(engine.addForward({ host: 'fixture', spec: '-L nonsense' }), (e: unknown) => e instanceof TunnelError && e.code === 'BAD_SPEC');
      const p = await freePort();
      const snap = await engine.addForward({ host: 'fixture', spec: `-L ${p}:127.0.0.1:${echo.port}` });
      const s = net.connect(p, '127.0.0.1');
      s.on('error', () => undefined);
      const closed = new Promise<void>((r) => s.on('close', () => r()));
      s.write('x');
      await new Promise<void>((r) => s.once('data', () => r()));
      const conn = await eventually('connection listed', () => engine.forwardSnapshot(snap.id).connections[0]);
      assert.equal(engine.closeConnection(snap.id, conn.id), true);
      await closed;
    } finally {
      await engine.dispose();
    }
  });

  test('prompts are answered on this thread; log level changes reach the engine', async () => {
    const knownHosts = path.join(dir, 'known_hosts_empty');
    fs.writeFileSync(knownHosts, '');
    const prompter = new ScriptedPrompter({ acceptHostKey: true });
    const { engine, lines, log } = client({ userKnownHostsFile: knownHosts, strictHostKeyChecking: 'ask' }, prompter);
    try {
      log.level = 'error';
      const host = await engine.connectHost('fixture');
      assert.equal(host.state, 'connected', host.error);
      assert.deepEqual(prompter.kinds(), ['hostKey']);
      assert.match(fs.readFileSync(knownHosts, 'utf8'), /ssh-ed25519/);
      assert.equal(lines.filter((l) => l.level === 'debug1').length, 0, 'no debug1 lines after the level went to error');
      await engine.disconnectHost('fixture');
    } finally {
      await engine.dispose();
    }
  });

  test('a question the engine withdraws closes here; the key is not recorded', async () => {
    const knownHosts = path.join(dir, 'known_hosts_withdrawn');
    fs.writeFileSync(knownHosts, '');
    const prompter = new ScriptedPrompter({ hold: true });
    const { engine } = client({ userKnownHostsFile: knownHosts, strictHostKeyChecking: 'ask' }, prompter);
    try {
      const connected = engine.connectHost('fixture');
      const asked = await eventually('the host key question', () => prompter.calls[0]);
      assert.equal(asked.kind, 'hostKey');
      assert.equal(asked.withdrawn?.aborted, false);
      await engine.disconnectHost('fixture');
      await eventually('the question withdrawn on this thread', () => asked.withdrawn?.aborted);
      assert.equal((await connected).state, 'disconnected');
      assert.equal(fs.readFileSync(knownHosts, 'utf8'), '');
      assert.equal(prompter.calls.length, 1);
    } finally {
      await engine.dispose();
    }
  });

  test('the engine starts with the first tunnel; settings and log level set before then apply to it', async () => {
    const knownHosts = path.join(dir, 'known_hosts_later');
    fs.writeFileSync(knownHosts, '');
    const prompter = new ScriptedPrompter({ acceptHostKey: true });
    const { engine, lines, log } = client({ extra: ['IdentityAgent none', 'Ciphers aes128-gcm@openssh.com'] }, prompter);
    try {
      // What activation and the tree do before any tunnel: answered here, no worker.
      assert.deepEqual(engine.configuredHosts().map((h) => h.alias), ['fixture']);
      assert.deepEqual(engine.snapshot(), { hosts: [] });
      engine.retryNow();
      engine.reloadConfig();
      log.level = 'debug2';
      assert.equal(engine.updateOptions({ knownHostsFile: knownHosts, strictHostKeyChecking: 'ask' }), true);
      assert.equal(engine.started, false, 'no worker before the first tunnel');

      const p = await freePort();
      const snap = await engine.addForward({ host: 'fixture', spec: `-L ${p}:127.0.0.1:${echo.port}` });
      assert.equal(engine.started, true);
      assert.equal(snap.state, 'listening', snap.error);
      assert.equal((await echoThrough(p, Buffer.from('late start'))).toString(), 'late start');
      // The options given before the start: the host key was asked about and saved to that file.
      assert.deepEqual(prompter.kinds(), ['hostKey']);
      assert.match(fs.readFileSync(knownHosts, 'utf8'), /ssh-ed25519/);
      // The log level set before the start: debug2 lines come from the worker.
      assert.ok(lines.some((l) => l.text === 'debug2: ciphers: aes128-gcm@openssh.com'), 'debug2 line from the worker');
    } finally {
      await engine.dispose();
    }
  });

  test('before any tunnel, a reloaded ssh config reaches the UI through a change event', async () => {
    const { engine } = client();
    try {
      assert.deepEqual(engine.configuredHosts().map((h) => h.alias), ['fixture']);
      const configFile = (engine as unknown as { opts: { configFile: string } }).opts.configFile;
      fs.appendFileSync(configFile, '\nHost added-later\n  HostName 127.0.0.1\n  Port 2222\n');
      const changed = new Promise<ManagerSnapshot>((resolve) => engine.onDidChange(resolve));
      engine.reloadConfig();
      assert.deepEqual(await changed, { hosts: [] });
      assert.deepEqual(engine.configuredHosts().map((h) => h.alias), ['fixture', 'added-later']);
      assert.equal(engine.resolveHost('added-later').port, 2222);
      assert.equal(engine.started, false);
    } finally {
      await engine.dispose();
    }
  });

  test('an exception nothing caught in the engine is logged and every tunnel carries on', async () => {
    const { engine, lines } = clientOn(CRASHING_WORKER, 'crash');
    try {
      // The planted bug fires once the first forward listens.
      const p = await freePort();
      const first = await engine.addForward({ host: 'fixture', spec: `-L ${p}:127.0.0.1:${echo.port}` });
      assert.equal(first.state, 'listening', first.error);
      const said = (what: string): string | undefined => lines.find((l) => l.startsWith(`The tunnel engine hit an unexpected error and carries on: ${what}. If a tunnel stops carrying data, stop and start it (or reload the window). This is a bug in SSH Tunnels: please report it with this log.`));
      await eventually('both errors in the log', () => said('boom in the engine') && said('a promise nobody awaited'));
      // The stack follows, so a report says where.
      assert.ok(lines.some((l) => /^Error: boom in the engine\n\s+at .*crashingWorker\.js/.test(l)), `no stack: ${JSON.stringify(lines.slice(-6))}`);
      assert.ok(!lines.some((l) => l.startsWith('The tunnel engine stopped') || l.startsWith('The tunnel engine exited')), 'the engine did not stop');
      // The tunnel that was up still carries bytes, and a new one can be added.
      const data = randomBytes(64 * 1024);
      assert.equal(sha256(await echoThrough(p, data)), sha256(data));
      const q = await freePort();
      const second = await engine.addForward({ host: 'fixture', spec: `-L ${q}:127.0.0.1:${echo.port}` });
      assert.equal(second.state, 'listening', second.error);
      assert.equal(sha256(await echoThrough(q, data)), sha256(data));
    } finally {
      await engine.dispose();
    }
  });

  /** Connects to `port` and waits for the connection to end (the exiting worker ends it). */
  const connectOnce = (port: number): Promise<void> => new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' }, () => s.write('x'));
    s.on('error', () => resolve());
    s.on('close', () => resolve());
  });

  test('when the engine ends, it is started again with the same tunnels', async () => {
    // Only the first worker exits; the one started after it runs normally.
    process.env.EXITING_WORKER_ONCE = path.join(dir, `exited-once-${where}`);
    const { engine, lines } = clientOn(EXITING_WORKER, 'restart');
    try {
      const idle = await freePort();
      const stopped = await engine.addForward({ host: 'fixture', spec: `-L ${idle}:127.0.0.1:${echo.port}`, label: 'Kept stopped', start: false });
      const p = await freePort();
      const running = await engine.addForward({ host: 'fixture', spec: `-L ${p}:127.0.0.1:${echo.port}`, label: 'Echo' });
      assert.equal(running.state, 'listening', running.error);
      const shown: ManagerSnapshot[] = [];
      engine.onDidChange((snap) => shown.push(snap));
      // The first connection through it ends the engine's thread.
      await connectOnce(p);
      const said = await eventually('the restart in the log', () => lines.indexOf('The tunnel engine exited (code 70); its tunnels were closed. Starting it again with its 2 tunnels.') + 1);
      const last = lines.indexOf('debug1: channel 7: the last line before the exit');
      assert.ok(last >= 0 && last < said - 1, `the worker's last line comes before the error: ${JSON.stringify(lines.slice(-8))}`);
      // Back under the same id and label, on the same port, carrying bytes.
      await eventually('the tunnel listening again', () => engine.forwardSnapshot(running.id).state === 'listening');
      assert.equal(engine.forwardSnapshot(running.id).label, 'Echo');
      assert.equal(engine.forwardSnapshot(running.id).listenPort, p);
      // Neither tunnel ever vanished from view while the new engine was given them back one by one.
      for (const snap of shown) {
        const ids = allForwards(snap.hosts).map((f) => f.id);
        assert.ok(ids.includes(running.id) && ids.includes(stopped.id), `a change showed only ${JSON.stringify(ids)}`);
        // It goes from coming back to starting: never shown as stopped (as if the user had stopped it).
        assert.notEqual(allForwards(snap.hosts).find((f) => f.id === running.id)?.state, 'stopped', 'the running tunnel was shown as stopped');
      }
      assert.ok(shown.some((snap) => snap.hosts[0]?.forwards.find((f) => f.id === running.id)?.state === 'reconnecting'), 'shown as coming back meanwhile');
      const data = randomBytes(64 * 1024);
      assert.equal(sha256(await echoThrough(p, data)), sha256(data));
      // The stopped one is back too, still stopped, and the new engine runs it when asked.
      assert.equal(engine.forwardSnapshot(stopped.id).state, 'stopped');
      assert.equal(engine.forwardSnapshot(stopped.id).label, 'Kept stopped');
      assert.equal(await isListening(idle), false);
      assert.equal((await engine.startForward(stopped.id)).state, 'listening');
      assert.equal(sha256(await echoThrough(idle, data)), sha256(data));
    } finally {
      delete process.env.EXITING_WORKER_ONCE;
      await engine.dispose();
    }
  });

  test('a host that was connected without a tunnel is connected again after a restart', async () => {
    process.env.EXITING_WORKER_ONCE = path.join(dir, `exited-once-bare-${where}`);
    const { engine, lines } = clientOn(EXITING_WORKER, 'bare-host', ['fixture', 'bare']);
    try {
      assert.equal((await engine.connectHost('bare')).state, 'connected');
      const p = await freePort();
      await engine.addForward({ host: 'fixture', spec: `-L ${p}:127.0.0.1:${echo.port}` });
      await connectOnce(p);
      await eventually('the restart in the log', () => lines.includes('The tunnel engine exited (code 70); its tunnels were closed. Starting it again with its tunnel.'));
      const bare = (): string | undefined => engine.snapshot().hosts.find((h) => h.alias === 'bare')?.state;
      await eventually('the bare host connected again', () => bare() === 'connected' && lines.filter((l) => l.startsWith('debug1: Connecting to bare ')).length === 2);
    } finally {
      delete process.env.EXITING_WORKER_ONCE;
      await engine.dispose();
    }
  });

  test('a question open when the engine ends is withdrawn; the restarted engine asks again', async () => {
    process.env.EXITING_WORKER_ONCE = path.join(dir, `exited-at-prompt-${where}`);
    process.env.EXITING_WORKER_AT = 'prompt';
    const knownHosts = path.join(dir, `known_hosts_restart-${where}`);
    fs.writeFileSync(knownHosts, '');
    const prompter = new ScriptedPrompter({ hold: true });
    const { engine, lines } = client({ userKnownHostsFile: knownHosts, strictHostKeyChecking: 'ask' }, prompter, EXITING_WORKER);
    try {
      const p = await freePort();
      // Its host key question ends the first engine; the reply never comes.
      const added = engine.addForward({ id: 'asked', host: 'fixture', spec: `-L ${p}:127.0.0.1:${echo.port}` });
      await assert.rejects(added, (e: unknown) => e instanceof TunnelError && e.code === 'ENGINE_RESTARTED');
      const first = await eventually('the first question', () => prompter.calls[0]);
      await eventually('the first question withdrawn', () => first.withdrawn?.aborted);
      assert.ok(lines.some((l) => l.text.startsWith('The tunnel engine exited (code 70); its tunnels were closed.')), 'no restart in the log');
      // The new engine has the tunnel (it was starting) and asks once more, for good this time.
      const second = await eventually('the restarted engine\'s question', () => prompter.calls[1]);
      assert.equal(second.kind, 'hostKey');
      assert.equal(second.withdrawn?.aborted, false);
      assert.equal(prompter.calls.length, 2);
      assert.equal(engine.forwardSnapshot('asked').state, 'starting');
      // Disposing withdraws it too: nothing is left asking.
      await engine.dispose();
      assert.equal(second.withdrawn?.aborted, true);
      assert.equal(fs.readFileSync(knownHosts, 'utf8'), '');
    } finally {
      delete process.env.EXITING_WORKER_ONCE;
      delete process.env.EXITING_WORKER_AT;
      await engine.dispose();
    }
  });

  test(`an engine that keeps ending stops after ${MAX_RESTARTS} restarts, and every tunnel shows why`, async () => {
    const { engine, lines } = clientOn(EXITING_WORKER, 'loop');
    try {
      const p = await freePort();
      const f = await engine.addForward({ host: 'fixture', spec: `-L ${p}:127.0.0.1:${echo.port}`, label: 'Echo' });
      // Every engine ends at its first connection: the first one, then each restarted one.
      for (let i = 0; i <= MAX_RESTARTS; i++) {
        await eventually(`listening (start ${i + 1})`, () => engine.forwardSnapshot(f.id).state === 'listening');
        await connectOnce(p);
        await eventually(`the end of engine ${i + 1}`, () => lines.filter((l) => l.startsWith('The tunnel engine exited (code 70)')).length === i + 1);
      }
      const final = `The tunnel engine exited (code 70) (${MAX_RESTARTS + 1} times in 5 minutes, so it is not started again). Its tunnels are closed; reload the window (Developer: Reload Window) to start it again.`;
      assert.equal(lines.filter((l) => l.startsWith('The tunnel engine')).at(-1), final);
      assert.equal(lines.filter((l) => l === 'The tunnel engine exited (code 70); its tunnels were closed. Starting it again with its tunnel.').length, MAX_RESTARTS);
      // The tree and status bar must not show it as up.
      assert.equal(engine.forwardSnapshot(f.id).state, 'error');
      assert.equal(engine.forwardSnapshot(f.id).error, final);
      assert.equal(engine.snapshot().hosts[0]?.state, 'error');
      assert.equal(await isListening(p), false);
      await assert.rejects(engine.addForward({ host: 'fixture', spec: '-L 0:127.0.0.1:1' }), (e: unknown) => e instanceof TunnelError && e.code === 'ENGINE_STOPPED' && e.message === final);
    } finally {
      await engine.dispose();
    }
  });

  test('dispose while a restarted engine is being given its tunnels back leaves nothing running', async () => {
    const { engine, lines } = clientOn(EXITING_WORKER, 'dispose-restoring');
    try {
      const ports = [await freePort(), await freePort(), await freePort()];
      for (const p of ports) await engine.addForward({ host: 'fixture', spec: `-L ${p}:127.0.0.1:${echo.port}` });
      let restarting = false;
      engine.onDidChange((snap) => { restarting ||= snap.hosts[0]?.forwards.some((f) => f.state === 'reconnecting') === true; });
      await connectOnce(ports[0]!);
      await eventually('the tunnels shown as coming back', () => restarting);
      const linesBeforeDispose = lines.length;
      await engine.dispose();
      for (const p of ports) assert.equal(await isListening(p), false, `port ${p} still listening`);
      // Ending the worker on purpose is not an engine failure.
      assert.deepEqual(lines.slice(linesBeforeDispose).filter((l) => l.startsWith('The tunnel engine')), []);
      const linesAtDispose = lines.length;
      // Whatever the restore had still to send is refused: no engine starts again after dispose.
      await new Promise((r) => setTimeout(r, 300));
      for (const p of ports) assert.equal(await isListening(p), false, `port ${p} listening after dispose`);
      assert.deepEqual(lines.slice(linesAtDispose), []);
      assert.equal(allForwards(engine.snapshot().hosts).some((f) => f.state === 'listening'), false);
    } finally {
      await engine.dispose();
    }
  });

  test('stopped tunnels added before any engine runs are checked and kept here; the first start gives them to the engine', async () => {
    const { engine } = client();
    const changes: ManagerSnapshot[] = [];
    engine.onDidChange((c) => changes.push(c));
    /** The engine's answer to each bad request, as code and message (or what it returned instead). */
    const answers = (): Promise<string[]> => Promise.all([
      { host: 'fixture', spec: '-L nonsense', start: false },
      { host: 'fixture', spec: `LocalForward ${p} 127.0.0.1:${echo.port}`, start: false },
      { host: 'fixture', spec: `${q}:127.0.0.1:${echo.port}`, kind: 'local' as const, id: 'other', start: false },
      { host: 'fixture', spec: '-D 1080', id: 'a', start: false },
      { host: 'user@-bad', spec: '-D 1081', start: false },
    ].map((req) => engine.addForward(req).then((f) => `added ${f.sshFlag}`, (e: TunnelError) => `${e.code}: ${e.message}`)));
    const p = await freePort();
    const q = await freePort();
    try {
      const a = await engine.addForward({ host: ' fixture ', spec: `-L ${p}:127.0.0.1:${echo.port}`, label: 'A', id: 'a', start: false });
      const b = await engine.addForward({ host: 'fixture', spec: `${q}:127.0.0.1:${echo.port}`, kind: 'local', start: false });
      const c = await engine.addForward({ host: 'fixture', spec: '-R 0:127.0.0.1:22', label: 'C', start: false });
      assert.deepEqual([a.state, a.host, a.sshFlag, a.label, b.sshFlag], ['stopped', 'fixture', `-L ${p}:127.0.0.1:${echo.port}`, 'A', `-L ${q}:127.0.0.1:${echo.port}`]);
      const rejected = await answers();
      assert.equal(engine.started, false, 'no engine for stopped tunnels, nor for requests refused');
      assert.deepEqual(engineChildren(), []);
      await eventually('a change event with the three', () => allForwards(changes.at(-1)?.hosts ?? []).length === 3);
      // Without an engine: renamed, stopped (already), and removed here.
      assert.equal(engine.setLabel(c.id, 'Renamed').label, 'Renamed');
      assert.equal((await engine.stopForward(b.id)).state, 'stopped');
      await engine.removeForward(c.id);
      await assert.rejects(engine.removeForward(c.id), (e: unknown) => e instanceof TunnelError && e.code === 'NOT_FOUND');
      await engine.disconnectHost('fixture');
      await engine.stopAll();
      assert.equal(engine.started, false);
      const shown = JSON.parse(JSON.stringify(engine.snapshot())) as ManagerSnapshot;
      assert.deepEqual(allForwards(shown.hosts).map((f) => [f.id, f.label]), [['a', 'A'], [b.id, undefined]]);
      // The first start: an engine, given the tunnels shown (same ids, labels, order) before it starts one.
      const started = await engine.startForward('a');
      assert.equal(started.state, 'listening', started.error);
      assert.equal(engine.started, true);
      await assertEchoes(p);
      const ran = JSON.parse(JSON.stringify(engine.snapshot())) as ManagerSnapshot;
      const bare = (f: object): object => ({ ...f, since: 0 });
      assert.deepEqual(allForwards(ran.hosts).map((f) => [f.id, f.label]), [['a', 'A'], [b.id, undefined]]);
      assert.deepEqual(bare(allForwards(ran.hosts)[1]!), bare(allForwards(shown.hosts)[1]!), 'a stopped tunnel is shown alike before and after the engine has it');
      const host = (h: ManagerSnapshot['hosts'][number]): object => ({ ...h, forwards: [], state: '', since: 0 });
      assert.deepEqual(host(ran.hosts[0]!), host(shown.hosts[0]!), 'its host too');
      // What was refused without an engine, the engine refuses in the same words.
      assert.deepEqual(await answers(), rejected);
      assert.equal(rejected.filter((r) => r.startsWith('added')).length, 0, rejected.join('\n'));
    } finally {
      await engine.dispose();
    }
  });

  test('an engine with nothing to do ends; its stopped tunnels stay shown, and the next command starts a new one with them', async () => {
    const { engine, lines } = client({}, undefined, undefined, { idleExitMs: 300 });
    try {
      const p = await freePort();
      const snap = await engine.addForward({ host: 'fixture', spec: `-L ${p}:127.0.0.1:${echo.port}`, label: 'Echo' });
      assert.equal(snap.state, 'listening', snap.error);
      const before = engineChildren().map((c) => c.pid);
      assert.equal(before.length, where === 'process' ? 1 : 0);
      assert.equal((await engine.stopForward(snap.id)).state, 'stopped');
      await eventually('the idle engine ended', () => !engine.started);
      assert.ok(lines.some((l) => l.text === 'debug1: The tunnel engine had nothing to do for 0.3 s: ended it to give its memory back. The next tunnel started starts it again.'), 'said so in the log');
      if (where === 'process') await eventually('its process gone', () => before.every((pid) => !runs(pid)));
      // What the tree shows is unchanged.
      assert.deepEqual(engine.snapshot().hosts.flatMap((h) => h.forwards.map((f) => [h.alias, f.id, f.label, f.state])), [['fixture', snap.id, 'Echo', 'stopped']]);
      const started = await engine.startForward(snap.id);
      assert.equal(started.state, 'listening', started.error);
      assert.equal(started.label, 'Echo');
      assert.equal(engine.started, true);
      if (where === 'process') assert.notDeepEqual(engineChildren().map((c) => c.pid), before, 'a new engine process');
      await assertEchoes(p, 256 * 1024);
      assert.equal(allForwards(engine.snapshot().hosts).length, 1, 'the tunnel once, not twice');
    } finally {
      await engine.dispose();
    }
  });

  test('prestart() starts an engine ahead of a tunnel, given the stopped tunnels shown; unused, it ends when idle', async () => {
    const { engine } = client({}, undefined, undefined, { idleExitMs: 400 });
    try {
      const p = await freePort();
      const saved = await engine.addForward({ id: 'saved', host: 'fixture', spec: `-L ${p}:127.0.0.1:${echo.port}`, label: 'Saved', start: false });
      assert.equal(engine.started, false);
      engine.prestart();
      assert.equal(engine.started, true, 'prestart() starts an engine at once');
      if (where === 'process') await eventually('its process', () => engineChildren().length === 1);
      engine.prestart();
      if (where === 'process') assert.equal(engineChildren().length, 1, 'a second prestart() starts no second engine');
      // Nobody added anything: it ends like any idle engine, the stopped tunnel still shown.
      await eventually('the unused engine ended', () => !engine.started);
      assert.deepEqual(allForwards(engine.snapshot().hosts).map((f) => [f.id, f.label, f.state]), [['saved', 'Saved', 'stopped']]);
      // Again, and this time used: the tunnel starts on the engine started ahead of it.
      engine.prestart();
      const pids = engineChildren().map((c) => c.pid);
      const started = await engine.startForward(saved.id);
      assert.equal(started.state, 'listening', started.error);
      assert.deepEqual(engineChildren().map((c) => c.pid), pids, 'the same engine');
      await assertEchoes(p);
      assert.equal(allForwards(engine.snapshot().hosts).length, 1, 'the tunnel once, not twice');
    } finally {
      await engine.dispose();
    }
  });

  test('an engine with a tunnel listening, or one that failed, is not ended for being idle', async () => {
    const { engine } = client({}, undefined, undefined, { idleExitMs: 200 });
    const taken = net.createServer();
    try {
      const p = await freePort();
      const snap = await engine.addForward({ host: 'fixture', spec: `-L ${p}:127.0.0.1:${echo.port}` });
      assert.equal(snap.state, 'listening', snap.error);
      const q = await freePort();
      await new Promise<void>((r, reject) => taken.once('error', reject).listen(q, '127.0.0.1', r));
      const failed = await engine.addForward({ host: 'fixture', spec: `-L ${q}:127.0.0.1:${echo.port}` });
      assert.equal(failed.state, 'error');
      await engine.stopForward(snap.id);
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal(engine.started, true, 'a failed tunnel keeps the engine (and its error)');
      assert.equal(engine.forwardSnapshot(failed.id).error, failed.error);
      await engine.removeForward(failed.id);
      assert.equal((await engine.startForward(snap.id)).state, 'listening');
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal(engine.started, true, 'a listening tunnel keeps the engine');
      await assertEchoes(p);
    } finally {
      taken.close();
      await engine.dispose();
    }
  });

  test('an engine that cannot start says why and is not started again', async () => {
    const { engine, lines } = clientOn(path.join(dir, 'no-such-worker.js'), 'missing');
    try {
      await assert.rejects(engine.addForward({ host: 'fixture', spec: '-L 0:127.0.0.1:1' }), (e: unknown) => e instanceof TunnelError && e.code === 'ENGINE_STOPPED' && e.message.startsWith('The tunnel engine stopped: Cannot find module') && e.message.endsWith('Its tunnels are closed; reload the window (Developer: Reload Window) to start it again.'));
      assert.equal(lines.filter((l) => l.startsWith('The tunnel engine')).length, 1, JSON.stringify(lines));
    } finally {
      await engine.dispose();
    }
  });

  test('dispose without a tunnel ever started ends cleanly and refuses later calls', async () => {
    const { engine } = client();
    await engine.dispose();
    assert.equal(engine.started, false);
    await assert.rejects(engine.addForward({ host: 'fixture', spec: `-L ${await freePort()}:127.0.0.1:${echo.port}` }), /disposed/);
    assert.equal(engine.started, false);
  });

  test('dispose stops the forwards and the engine, its last log lines arrive; later calls are refused', async () => {
    const { engine, lines } = client();
    const p = await freePort();
    await engine.addForward({ host: 'fixture', spec: `-L ${p}:127.0.0.1:${echo.port}` });
    assert.equal(await isListening(p), true);
    await engine.dispose();
    assert.equal(await isListening(p), false);
    // What the engine logged while stopping (not lost with the channel it closes).
    assert.ok(lines.some((l) => /^Transferred: sent \d+, received \d+ bytes/.test(l.text)), JSON.stringify(lines.slice(-5).map((l) => l.text)));
    await assert.rejects(engine.addForward({ host: 'fixture', spec: `-L ${await freePort()}:127.0.0.1:${echo.port}` }));
  });
});

describe('the engine process and the extension host', () => {
  before(() => { isolation = 'process'; });

  test('an engine process killed from outside (the OOM killer, say) is started again with its tunnels', async () => {
    await withOneEngineProcess({}, async ({ engine, lines, id, child }) => {
      process.kill(child.pid, 'SIGKILL');
      await eventually('the restart in the log', () => lines.some((l) => l.text === 'The tunnel engine was ended by SIGKILL; its tunnels were closed. Starting it again with its tunnel.'));
      await eventually('the tunnel listening again', () => engine.forwardSnapshot(id).state === 'listening');
      assert.equal(engine.forwardSnapshot(id).label, 'Echo');
      assert.ok(!runs(child.pid), 'the killed process is gone');
    });
  });

  test('Node flags given for the engine process reach it, and only it', async () => {
    await withOneEngineProcess({ processArgs: ['--max-semi-space-size=4'] }, async ({ child }) => {
      assert.deepEqual(child.argv.slice(1, child.argv.findIndex((a) => a.endsWith('workerMain.js'))), ['--max-semi-space-size=4'], 'the flags before the script, none of this process\'s');
    });
  });

  test('the engine process runs with its malloc settings after the user\'s own GLIBC_TUNABLES', async () => {
    const users = process.env.GLIBC_TUNABLES;
    process.env.GLIBC_TUNABLES = 'glibc.malloc.arena_max=2';
    try {
      await withOneEngineProcess({}, async ({ child }) => {
        // The process's environment as it was started; glibc (2.36 here) cuts the variable into
        // its tunables in place as it reads them, so the ':' between them may read as NUL.
        const environ = `:${fs.readFileSync(`/proc/${child.pid}/environ`, 'utf8').replace(/\0/g, ':')}`;
        assert.ok(environ.includes(`:GLIBC_TUNABLES=glibc.malloc.arena_max=2:${engineTunables(undefined)}:`), environ.split(':').filter((v) => v.includes('glibc')).join(' '));
      });
    } finally {
      if (users === undefined) delete process.env.GLIBC_TUNABLES; else process.env.GLIBC_TUNABLES = users;
    }
  });

  test('an engine process ends with the process that started it, even one killed outright', async () => {
    const configFile = path.join(dir, 'config-owner');
    fs.writeFileSync(configFile, renderSshConfig([sshConfigEntryFor(sshd, 'fixture', { extra: ['IdentityAgent none'] })]));
    const p = await freePort();
    const owner = spawn(process.execPath, [ENGINE_OWNER, configFile, `-L ${p}:127.0.0.1:${echo.port}`], { stdio: ['ignore', 'pipe', 'inherit'] });
    let engines: number[] = [];
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        owner.stdout!.on('data', (d: Buffer) => { out += String(d); if (out.includes('\n')) resolve(out.split('\n')[0]!); });
        owner.on('exit', (code) => reject(new Error(`the owner exited (${code}) before its tunnel was up: ${out}`)));
      });
      const started = JSON.parse(line) as { state: string; error?: string };
      assert.equal(started.state, 'listening', started.error);
      engines = childrenOf(owner.pid!);
      assert.equal(engines.length, 1, 'one engine process, a child of its owner');
      const data = randomBytes(64 * 1024);
      assert.equal(sha256(await echoThrough(p, data)), sha256(data));
      // What happens to an extension host that crashes or is killed: no chance to dispose anything.
      owner.kill('SIGKILL');
      await eventually('the engine process gone', () => !runs(engines[0]!));
      // Its main thread can show as a zombie while its other threads are still ending, and the
      // listening socket closes with the last of them.
      await eventually('its forward no longer listening', async () => !(await isListening(p)));
    } finally {
      owner.kill('SIGKILL');
      for (const pid of engines) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
    }
  });
});
