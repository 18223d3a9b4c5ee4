/**
 * sshd's own CPU per GB when it sends to OpenSSH's `ssh` and when it sends to SSH Tunnels' engine,
 * -L downloads (aes128-gcm), measured two ways in each round: both downloads at the same moment
 * (each client's connection has its own sshd session process, so each is measured on its own), and
 * each download by itself, as the bench's bulk section measures them.
 *
 *   node bench/build.mjs && node out/bench/sshdSideBySide.js      (BENCH_BULK_MB=512, BENCH_ROUNDS=4)
 *
 * Why (bench/README.md, "Why the misses remain"): by itself, sshd spends ~1.2× the CPU per GB
 * sending to us that it spends sending to `ssh`, with the same system calls. If our connection
 * asked more of sshd, the ratio would hold when both run at once; if it is the state of the
 * machine while ours runs, it would not. (2026-11-27: together 1.04×, alone 1.15× — the latter.
 * Later that day the machine's part was found: sshd's TCP pacing under this machine's BBR, which
 * it engages for a connection by the timing of that connection's ACKs — bench/FINDINGS.md,
 * "sshd's extra CPU is BBR's pacing"; with cubic sshd spends the same on either client.)
 * Also printed: sshd's sleeps (voluntary context switches) and preemptions (involuntary) per GB,
 * and how busy the machine was (200 % = both cores).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort, renderSshConfig, sshConfigEntryFor, startSshd, type Sshd } from '../test/fixtures/sshd';
import { EngineForwarder, OpenSshForwarder, killAllNow, stopForwardersOnSignal } from './lib/forwarders';
import { bulk, startBulkServer, type Target } from './lib/load';
import { busyPercent, cpuTimesOf, machineTicks, readsAndSleepsOf, withDescendants } from './lib/proc';
import { summarize } from './lib/stats';

const MB = Number(process.env.BENCH_BULK_MB ?? 512);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const CIPHER = 'aes128-gcm@openssh.com';

type Client = 'ssh' | 'ours';

interface Party {
  port: number;
  /** The client's processes (the engine host with its children). */
  pids: () => number[];
  /** The sshd processes of this client's connection. */
  session: number[];
}

interface Transfer { mbps: number; sshd: number; sshdKernel: number; sshdSleeps: number; sshdPreemptions: number; client: number; busy: number }

async function download(p: Party, bytes: number): Promise<Transfer> {
  const gb = bytes / 1e9;
  const pids = p.pids();
  const s0 = cpuTimesOf(p.session), w0 = readsAndSleepsOf(p.session), c0 = cpuTimesOf(pids), m0 = machineTicks();
  const r = await bulk({ port: p.port }, 'from', bytes);
  const s1 = cpuTimesOf(p.session), w1 = readsAndSleepsOf(p.session), c1 = cpuTimesOf(pids), m1 = machineTicks();
  return {
    mbps: r.mbps,
    sshd: (s1.total - s0.total) / gb,
    sshdKernel: (s1.kernel - s0.kernel) / gb,
    sshdSleeps: (w1.sleeps - w0.sleeps) / gb,
    sshdPreemptions: (w1.preemptions - w0.preemptions) / gb,
    client: (c1.total - c0.total) / gb,
    busy: busyPercent(m0, m1, os.cpus().length),
  };
}

function line(name: Client, t: Transfer): string {
  return `${name.padEnd(4)} ${t.mbps.toFixed(0).padStart(4)} MB/s, sshd ${t.sshd.toFixed(3)} CPU-s/GB (kernel ${t.sshdKernel.toFixed(3)}), `
    + `sleeps / preemptions per GB ${t.sshdSleeps.toFixed(0)} / ${t.sshdPreemptions.toFixed(0)}; client ${t.client.toFixed(3)} CPU-s/GB; machine ${t.busy.toFixed(0)} %`;
}

async function main(): Promise<void> {
  stopForwardersOnSignal();
  let sshd: Sshd | undefined;
  let target: Target | undefined;
  let ssh: OpenSshForwarder | undefined;
  let ours: EngineForwarder | undefined;
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'sshtunnels-sshd-side-by-side-'));
  try {
    sshd = await startSshd({ hostKeyTypes: ['ed25519'], extraConfig: ['LogLevel ERROR'] });
    fs.mkdirSync(path.join(home, '.ssh'), { mode: 0o700 });
    const configFile = path.join(home, '.ssh', 'config');
    fs.writeFileSync(configFile, renderSshConfig([sshConfigEntryFor(sshd, 'bench', { extra: ['IdentityAgent none', 'LogLevel ERROR', `Ciphers ${CIPHER}`] })]));
    target = await startBulkServer();
    const via = (port: number): string => `-L 127.0.0.1:${port}:127.0.0.1:${target!.port}`;

    // Each client connects, then moves 64 MiB (warm-up); the sshd processes that appeared
    // meanwhile are its connection's.
    const parties = {} as Record<Client, Party>;
    const join = async (name: Client, start: (port: number) => Promise<() => number[]>): Promise<void> => {
      const before = new Set(sshd!.processes());
      const port = await freePort();
      const pids = await start(port);
      await bulk({ port }, 'from', 64 * 1024 * 1024);
      const session = sshd!.processes().filter((p) => !before.has(p));
      if (!session.length) throw new Error(`${name}: no sshd process of its own appeared`);
      parties[name] = { port, pids, session };
    };
    await join('ssh', async (port) => {
      ssh = await OpenSshForwarder.start(configFile, [{ host: 'bench', flags: [via(port)], ports: [port] }]);
      return () => [ssh!.pid];
    });
    await join('ours', async (port) => {
      ours = await EngineForwarder.start({ name: 'ours', configFile, homeDir: home, mode: 'thread' });
      await ours.addForwards([{ host: 'bench', flags: [via(port)], ports: [port] }]);
      return () => withDescendants(ours!.pid);
    });

    const bytes = MB * 1024 * 1024;
    const ratios = { together: [] as number[], alone: [] as number[] };
    console.log(`sshd sending ${MB} MiB per download, ${CIPHER}, ${ROUNDS} rounds; sshd CPU-s/GB of the connection's own sshd processes`);
    for (let round = 1; round <= ROUNDS; round++) {
      const [a, b] = await Promise.all([download(parties.ssh, bytes), download(parties.ours, bytes)]);
      console.log(`round ${round}, together: ${line('ssh', a)}\nround ${round}, together: ${line('ours', b)}`);
      if (a.sshd > 0 && b.sshd > 0) ratios.together.push(b.sshd / a.sshd);
      const alone = {} as Record<Client, Transfer>;
      for (const name of (round % 2 ? ['ssh', 'ours'] : ['ours', 'ssh']) as Client[]) {
        await new Promise((r) => setTimeout(r, 1000));
        alone[name] = await download(parties[name], bytes);
        console.log(`round ${round}, alone: ${line(name, alone[name])}`);
      }
      if (alone.ours.sshd > 0 && alone.ssh.sshd > 0) ratios.alone.push(alone.ours.sshd / alone.ssh.sshd);
      await new Promise((r) => setTimeout(r, 1000));
    }
    // A transfer shorter than a few of /proc's 10 ms ticks may count no sshd CPU at all: no ratio then.
    const show = (xs: number[]): string => {
      const r = summarize(xs);
      return r.n ? `${r.median.toFixed(2)}× (${r.min.toFixed(2)}–${r.max.toFixed(2)})` : 'not measurable (transfers too short for /proc\'s 10 ms ticks)';
    };
    console.log(`sshd's CPU per GB sending to ours / to ssh: together ${show(ratios.together)}, alone ${show(ratios.alone)}`);
  } finally {
    await ssh?.stop();
    await ours?.stop();
    await target?.close();
    await sshd?.stop();
    fs.rmSync(home, { recursive: true, force: true });
  }
}

main().catch((e: Error) => {
  killAllNow();
  console.error(e.stack ?? e.message);
  process.exitCode = 1;
});
