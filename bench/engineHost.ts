/**
 * A child process that runs the bundled engine (out/bench/engine.js) the way the extension host
 * would: one thread that owns the TunnelManager. The parent (bench/run.ts) drives it over IPC and
 * reads its RSS/CPU from /proc. It also measures its own event-loop delay on request.
 *
 * Like the packaged extension (which ships only dist/extension.js, no node_modules), it must not
 * find ssh2's optional native helpers (lib/notShipped.ts).
 */
import './lib/notShipped';
import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';
import { echoOnce } from './lib/load';
import type * as Engine from './engine-entry';
import type * as Client from './client-entry';

type Req = { id: number; op: string; [k: string]: unknown };

const bundlePath = process.env.BENCH_ENGINE_BUNDLE!;
const tRequire0 = performance.now();
// eslint-disable-next-line @typescript-eslint/no-require-imports
const engine = require(bundlePath) as Partial<typeof Engine & typeof Client> & Pick<typeof Engine, 'Log'>;
const requireMs = performance.now() - tRequire0;

interface ManagerLike {
  addForward(req: unknown): Promise<unknown>;
  removeForward(id: string): Promise<void>;
  connectHost(host: string): Promise<unknown>;
  snapshot(): unknown;
  dispose(): Promise<void>;
}

let manager: ManagerLike | undefined;
let eld: IntervalHistogram | undefined;
const logTail: string[] = [];
/** Lines above debug (info, error): what a user would see at VS Code's Info level, e.g. a target not reached. */
const notices: string[] = [];

const prompter = {
  password: async () => undefined,
  passphrase: async () => undefined,
  keyboardInteractive: async () => undefined,
  confirmHostKey: async () => false,
};

async function handle(req: Req): Promise<unknown> {
  switch (req.op) {
    case 'init': {
      // debug1 unless asked otherwise: what the extension logs at VS Code's default level (Info;
      // src/ui/logChannel.ts), i.e. two lines per forwarded connection.
      const log = new engine.Log((req.logLevel as 'debug1') ?? 'debug1');
      log.onLine((l) => {
        logTail.push(l.text);
        if (logTail.length > 200) logTail.shift();
        if ((l.level === 'error' || l.level === 'info') && notices.length < 200) notices.push(l.text);
      });
      const t0 = performance.now();
      const options = { log, prompter, configFile: req.configFile as string, homeDir: req.homeDir as string, reconnect: false };
      let constructMs: number;
      let readyMs: number;
      if (req.mode === 'client') {
        // The extension constructs the client at activation; the engine starts with the first tunnel.
        const more = req.clientOptions as Partial<ConstructorParameters<NonNullable<typeof engine.EngineClient>>[0]> | undefined;
        const client = new engine.EngineClient!({ ...options, workerPath: process.env.BENCH_ENGINE_WORKER!, ...more });
        constructMs = performance.now() - t0;
        await client.start();
        readyMs = performance.now() - t0;
        manager = client as unknown as ManagerLike;
      } else {
        manager = new engine.TunnelManager!(options) as unknown as ManagerLike;
        constructMs = readyMs = performance.now() - t0;
      }
      return { requireMs, constructMs, readyMs, pid: process.pid };
    }
    case 'add':
      return manager!.addForward(req.req);
    case 'tunnelUp': {
      // What a user waits for after starting a tunnel whose host is not connected yet: the SSH
      // connection (handshake, host key check, authentication), the listener, then a connection
      // through it answered by the target (a 1-byte echo). Timed here, where the engine's API is called.
      const t0 = performance.now();
      const snap = await manager!.addForward({ host: req.host, spec: req.spec }) as { id: string; state: string; error?: string };
      try {
        if (snap.state !== 'listening') throw new Error(`${String(req.spec)} is ${snap.state}: ${snap.error ?? ''}`);
        await echoOnce({ port: req.port as number });
        return performance.now() - t0;
      } finally {
        await manager!.removeForward(snap.id);
      }
    }
    case 'started':
      // EngineClient: whether an engine runs (it ends after idleExitMs with nothing to do); on the thread, always.
      return (manager as { started?: boolean } | undefined)?.started ?? true;
    case 'connect':
      return manager!.connectHost(req.host as string);
    case 'snapshot':
      return manager!.snapshot();
    case 'log':
      return logTail.slice(-50);
    case 'notices':
      // Those since the last call.
      return notices.splice(0);
    case 'eldStart':
      eld?.disable();
      eld = monitorEventLoopDelay({ resolution: (req.resolution as number) ?? 5 });
      eld.enable();
      return null;
    case 'eldStop': {
      if (!eld) return null;
      eld.disable();
      const ms = (ns: number): number => ns / 1e6;
      const r = { p50: ms(eld.percentile(50)), p99: ms(eld.percentile(99)), max: ms(eld.max), mean: ms(eld.mean), count: eld.count };
      eld = undefined;
      return r;
    }
    case 'elu':
      // This (main) thread's event-loop utilization so far: the extension host's share of the work.
      return performance.eventLoopUtilization();
    case 'gc':
      (globalThis as { gc?: () => void }).gc?.();
      return null;
    case 'dispose':
      await manager?.dispose();
      setImmediate(() => process.exit(0));
      return null;
    default:
      throw new Error(`unknown op ${req.op}`);
  }
}

process.on('message', (msg: Req) => {
  handle(msg).then(
    (result) => process.send!({ id: msg.id, result }),
    (err: Error) => process.send!({ id: msg.id, error: err.message }),
  );
});
process.on('disconnect', () => process.exit(0));
process.send!({ ready: true });
