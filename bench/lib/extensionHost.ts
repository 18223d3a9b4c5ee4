/**
 * VS Code's own responsiveness while SSH Tunnels forwards, in a real VS Code (code-server, the
 * e2e harness of test/e2e) — the figures the engine-host rows of the bench stand in for.
 *
 * The built extension runs as shipped (engine in its worker, log channel at VS Code's default
 * level, so every forwarded connection writes its debug1 lines to the SSH Tunnels output channel)
 * and starts two -L tunnels from the `sshTunnels.tunnels` setting. A probe extension in the same
 * extension host samples that thread's event-loop delay (monitorEventLoopDelay) and utilization
 * and answers on a loopback HTTP port; in the page, a PerformanceObserver counts the workbench's
 * long tasks (≥ 50 ms on the renderer's main thread) with the SSH Tunnels view open, whose tree
 * shows each live connection. Phases, interleaved per round: idle, bulk to and from, short
 * connections on 1 and 8 lanes, 1000 concurrent connections — each once through the extension's
 * tunnels and once through OpenSSH's `ssh -L` to the same targets in the same VS Code: what VS
 * Code's extension host and workbench do anyway on this box while the same traffic runs.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { e2eInstall, missingPrerequisites, startVsCode, type VsCodeSession } from '../../test/e2e/harness';
import { freePort } from '../../test/fixtures/sshd';
import { cmdline } from '../../test/fixtures/processTable';
import { OpenSshForwarder } from './forwarders';
import { cpuOf, faultsOf, memOf, pidsByCmdline } from './proc';
import { writeBenchExtension } from './benchExtension';
import { bulk, concurrentEcho, shortConnections, type Target, type Via } from './load';

export interface PhaseSample {
  /** Extension host thread: event-loop delay, ms (1 ms resolution, so ~1 ms is the floor). */
  p50: number;
  p99: number;
  max: number;
  /** Extension host thread: event-loop utilization, % of the phase. */
  busy: number;
  /** Renderer: long tasks during the phase, their total and the longest, ms. */
  longTasks: number;
  longTaskMs: number;
  longestTaskMs: number;
  /**
   * CPU-seconds during the phase: the extension host process (VS Code's extension host thread,
   * SSH Tunnels' engine worker, other extensions), code-server's other processes (the server that
   * relays the extension host's messages to the page, file watcher, ...), and Chromium (the page).
   */
  cpuExtHost: number;
  /** SSH Tunnels' engine process (a child of the extension host; 0 when the engine runs in a worker thread of it). */
  cpuEngine: number;
  cpuServer: number;
  cpuBrowser: number;
  /** Minor page faults during the phase: of the extension host process (all its threads), and of the engine process. */
  faultsExtHost: number;
  faultsEngine: number;
  /**
   * RSS of the engine process, bytes: when the phase began and when it ended — for the burst,
   * BURST_SETTLE_MS after it ended (what it gives back once the burst is over).
   */
  rssEngineBefore: number;
  rssEngineAfter: number;
  /** What the phase moved: MB/s for bulk, connections/s for short, seconds for the burst. */
  work: number;
  seconds: number;
}

export interface ExtensionHostResult {
  /** By phase: through SSH Tunnels' tunnels. */
  phases: Record<string, PhaseSample[]>;
  /** By phase: the same traffic through OpenSSH's `ssh -L`, SSH Tunnels idle. */
  openssh: Record<string, PhaseSample[]>;
  error?: string;
  /** What VS Code ran (for the report). */
  vscode?: string;
}

const burstPhase = (burst: number): string => `${burst} concurrent -L`;
/** How long after a burst the engine's RSS is read again (the issue's "RSS 10 s after"). */
export const BURST_SETTLE_MS = 10_000;
/** The phases in the order they run (the burst's name carries its size). */
export const phases = (burst: number): string[] => ['idle', 'bulk -L to', 'bulk -L from', 'short -L, 1 lane', 'short -L, 8 lanes', burstPhase(burst)];

const PROBE_JS = `const fs = require('fs');
const http = require('http');
const path = require('path');
const { monitorEventLoopDelay, performance } = require('perf_hooks');
let server;
// BENCH_PROBE_PROFILE=dir: each phase's CPU profile of this thread and of every worker thread of
// this process (SSH Tunnels' engine), through the inspector, in process.
const profileDir = process.env.BENCH_PROBE_PROFILE;
let inspector;
let profiling = false;
const post = (m, p) => new Promise((res, rej) => inspector.post(m, p || {}, (e, r) => (e ? rej(e) : res(r))));
const workers = new Map();
const answers = new Map();
let nextId = 1;
const toWorker = (sessionId, method, params) => new Promise((res) => {
  const id = nextId++;
  answers.set(id, res);
  inspector.post('NodeWorker.sendMessageToWorker', { sessionId, message: JSON.stringify({ id, method, params: params || {} }) });
});
const everywhere = async (method) => {
  const out = [['main', await post(method)]];
  for (const [sid, info] of workers) out.push([info.title || info.url || sid, (await toWorker(sid, method)).result]);
  return out;
};
exports.activate = () => {
  if (profileDir) {
    inspector = new (require('inspector').Session)();
    inspector.connect();
    inspector.on('NodeWorker.attachedToWorker', (m) => workers.set(m.params.sessionId, m.params.workerInfo));
    inspector.on('NodeWorker.detachedFromWorker', (m) => workers.delete(m.params.sessionId));
    inspector.on('NodeWorker.receivedMessageFromWorker', (m) => {
      const msg = JSON.parse(m.params.message);
      const done = answers.get(msg.id);
      if (done) {
        answers.delete(msg.id);
        done(msg);
      }
    });
    void post('NodeWorker.enable', { waitForDebuggerOnStart: false });
  }
  const eld = monitorEventLoopDelay({ resolution: 1 });
  eld.enable();
  let elu = performance.eventLoopUtilization();
  server = http.createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    const url = new URL(req.url, 'http://probe');
    if (url.pathname === '/start') {
      eld.reset();
      elu = performance.eventLoopUtilization();
      if (inspector && !profiling) {
        profiling = true;
        return void everywhere('Profiler.enable').then(() => everywhere('Profiler.start')).then(() => res.end('{}'), (e) => res.end(JSON.stringify({ error: e.message })));
      }
      return res.end('{}');
    }
    if (url.pathname === '/stop') {
      const u = performance.eventLoopUtilization(elu);
      const figures = JSON.stringify({ p50: eld.percentile(50) / 1e6, p99: eld.percentile(99) / 1e6, max: eld.max / 1e6, busy: u.utilization * 100 });
      if (!profiling) return res.end(figures);
      profiling = false;
      const name = (url.searchParams.get('name') || 'phase').replace(/[^a-z0-9]+/gi, '-');
      return void everywhere('Profiler.stop').then((all) => {
        all.forEach(([thread, r], i) => {
          if (r && r.profile) fs.writeFileSync(path.join(profileDir, 'vscode-' + name + '-' + (i ? 'worker' + i : 'main') + '-' + Date.now() + '.cpuprofile'), JSON.stringify(r.profile));
        });
        res.end(figures);
      }, (e) => res.end(JSON.stringify({ error: e.message })));
    }
    res.statusCode = 404;
    res.end('{}');
  });
  server.on('error', (e) => console.error('bench probe: ' + e.message));
  server.listen(Number(process.env.BENCH_PROBE_PORT), '127.0.0.1');
};
exports.deactivate = () => server && server.close();
`;

function probeExtension(dir: string): string {
  return writeBenchExtension(dir, { name: 'bench-probe', displayName: 'Bench Event Loop Probe', activationEvents: ['onStartupFinished'] }, PROBE_JS);
}

function get(port: number, what: string): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: `/${what}`, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => {
        try {
          resolve(JSON.parse(body) as Record<string, number>);
        } catch (e) {
          reject(e as Error);
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`probe /${what} timed out`)));
    req.on('error', reject);
  });
}

async function until(what: string, ok: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await ok().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

const LONG_TASKS_INSTALL = `(() => {
  const w = window;
  w.__benchLongTasks = [];
  new PerformanceObserver((l) => { for (const e of l.getEntries()) w.__benchLongTasks.push(e.duration); }).observe({ type: 'longtask' });
})()`;
const LONG_TASKS_TAKE = '(() => { const w = window; const t = w.__benchLongTasks; w.__benchLongTasks = []; return t; })()';

export interface ExtensionHostOptions {
  repo: string;
  /** The bench's ssh config (hosts named as in it); copied into a home of VS Code's own. */
  configFile: string;
  host: string;
  bulkTarget: Target;
  echoTarget: Target;
  rounds: number;
  bulkBytes: number;
  shortMax: number;
  shortMs: number;
  /** Connections per lane count in the unmeasured warm-up (V8 needs a few thousand to settle). */
  shortWarmupMax: number;
  burst: number;
  /**
   * Write each phase's CPU profiles here: the extension host's thread and its worker threads. The
   * engine runs in a process of its own since change 22, which this does not profile (`perf record
   * -p <its pid>` does; or a build with `isolation: 'worker'` through BENCH_VSCODE_EXTENSION).
   */
  profileDir?: string;
  /**
   * More VS Code user settings (BENCH_VSCODE_SETTINGS), e.g. `{"remote.autoForwardPortsSource":
   * "output"}`: VS Code's port finder otherwise forks the extension host every 2-3 s.
   */
  settings?: Record<string, unknown>;
  log: (m: string) => void;
}

export async function measureExtensionHost(o: ExtensionHostOptions): Promise<ExtensionHostResult> {
  const result: ExtensionHostResult = { phases: {}, openssh: {} };
  const missing = missingPrerequisites();
  if (missing.length) return { ...result, error: `not measured: ${missing.join('; ')} (bash test/setup.sh installs them)` };
  if (!fs.existsSync(path.join(o.repo, 'dist', 'extension.js'))) return { ...result, error: 'not measured: dist/extension.js missing (npm run build)' };
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-exthost-'));
  const home = path.join(tmp, 'home');
  fs.mkdirSync(path.join(home, '.ssh'), { recursive: true, mode: 0o700 });
  fs.copyFileSync(o.configFile, path.join(home, '.ssh', 'config'));
  const probePort = await freePort();
  const bulkPort = await freePort();
  const echoPort = await freePort();
  const sshBulkPort = await freePort();
  const sshEchoPort = await freePort();
  let vs: VsCodeSession | undefined;
  let ssh: OpenSshForwarder | undefined;
  try {
    ssh = await OpenSshForwarder.start(o.configFile, [{
      host: o.host,
      flags: [`-L 127.0.0.1:${sshBulkPort}:127.0.0.1:${o.bulkTarget.port}`, `-L 127.0.0.1:${sshEchoPort}:127.0.0.1:${o.echoTarget.port}`],
      ports: [sshBulkPort, sshEchoPort],
    }]);
    vs = await startVsCode({
      extensionDir: o.repo,
      install: 'copy',
      alsoInstall: [probeExtension(path.join(tmp, 'probe'))],
      env: { HOME: home, BENCH_PROBE_PORT: String(probePort), ...(o.profileDir ? { BENCH_PROBE_PROFILE: o.profileDir } : {}) },
      settings: {
        ...o.settings,
        'sshTunnels.tunnels': [
          { host: o.host, spec: `-L 127.0.0.1:${bulkPort}:127.0.0.1:${o.bulkTarget.port}`, autoStart: true },
          { host: o.host, spec: `-L 127.0.0.1:${echoPort}:127.0.0.1:${o.echoTarget.port}`, autoStart: true },
        ],
      },
    });
    const session = vs;
    await until('the probe in the extension host', async () => (await get(probePort, 'stop?name=startup')).p50 !== undefined, 60_000);
    // Both tunnels started by the extension from the setting: an echo through each.
    await until('the tunnels', async () => {
      await shortConnections({ port: echoPort }, 1, 1, 2000).then((r) => { if (r.failures) throw new Error('echo failed'); });
      return (await bulk({ port: bulkPort }, 'to', 1024 * 1024, 5000)).mbps > 0;
    }, 60_000);
    await session.openViewContainer('SSH Tunnels');
    await session.page.evaluate(LONG_TASKS_INSTALL);
    const codeServer = path.dirname(path.dirname(path.dirname(e2eInstall().codeServerEntry)));
    const groups = (): { ext: number[]; engine: number[]; server: number[]; browser: number[] } => {
      const all = pidsByCmdline(codeServer).filter((pid) => pid !== process.pid);
      const ext = all.filter((pid) => cmdline(pid).join(' ').includes('extensionHost'));
      // The engine process EngineClient forks (its script is the extension's dist/engineWorker.js).
      const engine = pidsByCmdline(path.join('dist', 'engineWorker.js')).filter((pid) => pid !== process.pid);
      return { ext, engine, server: all.filter((pid) => !ext.includes(pid)), browser: pidsByCmdline('chromium').filter((pid) => pid !== process.pid) };
    };
    const g0 = groups();
    o.log(`vscode: ${g0.ext.length} extension host, ${g0.engine.length} SSH Tunnels engine, ${g0.server.length} other code-server and ${g0.browser.length} Chromium processes`);
    const phase = async (into: Record<string, PhaseSample[]>, name: string, run: () => Promise<{ work: number; seconds: number }>, settleMs = 0): Promise<void> => {
      await session.page.evaluate(LONG_TASKS_TAKE);
      const g = groups();
      const cpu0 = [cpuOf(g.ext), cpuOf(g.engine), cpuOf(g.server), cpuOf(g.browser)];
      const faults0 = [faultsOf(g.ext), faultsOf(g.engine)];
      const rssEngineBefore = memOf(g.engine)?.rss ?? 0;
      await get(probePort, 'start');
      const done = await run();
      const cpu1 = [cpuOf(g.ext), cpuOf(g.engine), cpuOf(g.server), cpuOf(g.browser)];
      const faults1 = [faultsOf(g.ext), faultsOf(g.engine)];
      const p = await get(probePort, `stop?name=${encodeURIComponent(name)}`);
      const tasks = (await session.page.evaluate(LONG_TASKS_TAKE)) as number[];
      if (settleMs) await new Promise((res) => setTimeout(res, settleMs));
      const rssEngineAfter = memOf(g.engine)?.rss ?? 0;
      (into[name] ??= []).push({
        p50: p.p50!, p99: p.p99!, max: p.max!, busy: p.busy!,
        longTasks: tasks.length, longTaskMs: tasks.reduce((a, b) => a + b, 0), longestTaskMs: Math.max(0, ...tasks),
        cpuExtHost: cpu1[0]! - cpu0[0]!, cpuEngine: cpu1[1]! - cpu0[1]!, cpuServer: cpu1[2]! - cpu0[2]!, cpuBrowser: cpu1[3]! - cpu0[3]!,
        faultsExtHost: faults1[0]! - faults0[0]!, faultsEngine: faults1[1]! - faults0[1]!,
        rssEngineBefore, rssEngineAfter,
        work: done.work, seconds: done.seconds,
      });
    };
    const idleMs = 3000;
    const ours = { bulk: { port: bulkPort }, echo: { port: echoPort } };
    const theirs = { bulk: { port: sshBulkPort }, echo: { port: sshEchoPort } };
    // Unmeasured first: the JIT of both sides, and VS Code's own start-up work (extensions
    // activating, the first renders) finishing, so that round 1 does not pay for them.
    for (const via of [ours, theirs]) {
      await bulk(via.bulk, 'to', 64 * 1024 * 1024);
      await bulk(via.bulk, 'from', 64 * 1024 * 1024);
      for (const lanes of [1, 8]) await shortConnections(via.echo, lanes, o.shortWarmupMax, o.shortMs);
      await concurrentEcho(via.echo, o.burst);
    }
    for (let r = 0; r < o.rounds; r++) {
      await phase(result.phases, 'idle', async () => {
        await new Promise((res) => setTimeout(res, idleMs));
        return { work: 0, seconds: idleMs / 1000 };
      });
      // Each phase through ours, then through ssh (alternating which goes first by round).
      const both = async (name: string, run: (via: { bulk: Via; echo: Via }) => Promise<{ work: number; seconds: number }>, settleMs = 0): Promise<void> => {
        const order = r % 2 === 0 ? [[result.phases, ours], [result.openssh, theirs]] as const : [[result.openssh, theirs], [result.phases, ours]] as const;
        for (const [into, via] of order) await phase(into, name, () => run(via), into === result.phases ? settleMs : 0);
      };
      for (const dir of ['to', 'from'] as const) {
        await both(`bulk -L ${dir}`, async (via) => {
          const b = await bulk(via.bulk, dir, o.bulkBytes);
          return { work: b.mbps, seconds: b.seconds };
        });
      }
      for (const lanes of [1, 8]) {
        await both(`short -L, ${lanes} lane${lanes > 1 ? 's' : ''}`, async (via) => {
          const s = await shortConnections(via.echo, lanes, o.shortMax, o.shortMs);
          return { work: s.perSecond, seconds: s.seconds };
        });
      }
      await both(burstPhase(o.burst), async (via) => {
        const b = await concurrentEcho(via.echo, o.burst);
        return { work: b.seconds, seconds: b.seconds };
      }, BURST_SETTLE_MS);
      o.log(`extension host round ${r + 1}/${o.rounds}: ${Object.entries(result.phases).map(([k, v]) => `${k} p99 ${v.at(-1)!.p99.toFixed(1)} ms (ssh ${result.openssh[k]?.at(-1)?.p99.toFixed(1) ?? '–'})`).join(', ')}`);
    }
  } catch (e) {
    result.error = (e as Error).message;
  } finally {
    await vs?.close();
    await ssh?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return result;
}
