/** /proc readers: RSS, peak RSS, CPU time of a process and busy time of the whole machine. */
import * as fs from 'node:fs';
import { cmdline, descendants, readProcs } from '../../test/fixtures/processTable';

const TICK_HZ = 100;

export interface ProcMem {
  /** Resident set size, bytes (VmRSS). */
  rss: number;
  /** Peak resident set size since start or the last resetPeak(), bytes (VmHWM). */
  hwm: number;
  /**
   * The anonymous part of rss, bytes (RssAnon): heap, stacks, buffers — memory the process alone
   * holds. The rest of rss is mostly the node binary's code pages, which every process running the
   * same binary shares (in VS Code the engine process runs the extension host's Electron binary).
   */
  anon: number;
}

export function procMem(pid: number): ProcMem | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM'), anon: kb('RssAnon') };
  } catch {
    return undefined;
  }
}

/** Resets VmHWM to the current RSS (Linux: `echo 5 > /proc/PID/clear_refs`). */
export function resetPeak(pid: number): boolean {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** CPU time of a process (all its threads), seconds: in user space (utime) and in the kernel (stime). */
export function procCpuTimes(pid: number): { user: number; kernel: number } {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // rest[11] = utime (field 14), rest[12] = stime (15)
    return { user: Number(rest[11]) / TICK_HZ, kernel: Number(rest[12]) / TICK_HZ };
  } catch {
    return { user: NaN, kernel: NaN };
  }
}

/** Minor page faults of a process so far (all its threads): field 10 of /proc/PID/stat. */
export function procMinorFaults(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[7]);
  } catch {
    return NaN;
  }
}

/** What procReadsAndSleeps counts. */
export interface ReadsAndSleeps {
  /** Read system calls (syscr in /proc/PID/io: all its threads). */
  reads: number;
  /** How often its threads slept waiting for something (voluntary context switches). */
  sleeps: number;
  /** How often its threads were taken off the CPU while they could still run (nonvoluntary context switches). */
  preemptions: number;
}

/** A process's reads, sleeps and preemptions so far, its threads' switches summed over /proc/PID/task. */
export function procReadsAndSleeps(pid: number): ReadsAndSleeps {
  try {
    const io = fs.readFileSync(`/proc/${pid}/io`, 'utf8');
    const reads = Number(/^syscr:\s*(\d+)/m.exec(io)?.[1] ?? NaN);
    let sleeps = 0;
    let preemptions = 0;
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      const status = fs.readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      sleeps += Number(/^voluntary_ctxt_switches:\s*(\d+)/m.exec(status)?.[1] ?? NaN);
      preemptions += Number(/^nonvoluntary_ctxt_switches:\s*(\d+)/m.exec(status)?.[1] ?? NaN);
    }
    return { reads, sleeps, preemptions };
  } catch {
    return { reads: NaN, sleeps: NaN, preemptions: NaN };
  }
}

/** procReadsAndSleeps of several processes together. */
export function readsAndSleepsOf(pids: number[]): ReadsAndSleeps {
  const sum: ReadsAndSleeps = { reads: 0, sleeps: 0, preemptions: 0 };
  for (const pid of pids) {
    const r = procReadsAndSleeps(pid);
    sum.reads += r.reads || 0;
    sum.sleeps += r.sleeps || 0;
    sum.preemptions += r.preemptions || 0;
  }
  return sum;
}

/** CPU seconds of several processes together (e.g. every sshd process of a connection). */
export function cpuOf(pids: number[]): number {
  return cpuTimesOf(pids).total;
}

/** cpuOf, and its part in the kernel (stime): what the processes spent in system calls and interrupts. */
export function cpuTimesOf(pids: number[]): { total: number; kernel: number } {
  let total = 0;
  let kernel = 0;
  for (const pid of pids) {
    const t = procCpuTimes(pid);
    total += (t.user + t.kernel) || 0;
    kernel += t.kernel || 0;
  }
  return { total, kernel };
}

/** Minor page faults of several processes together. */
export function faultsOf(pids: number[]): number {
  return pids.reduce((sum, pid) => sum + (procMinorFaults(pid) || 0), 0);
}

/**
 * RSS and peak RSS of several processes, each summed (the peak sum bounds their joint peak from
 * above when they peaked at different moments); undefined when none of them runs.
 */
export function memOf(pids: number[]): ProcMem | undefined {
  const mems = pids.map((p) => procMem(p)).filter((m): m is ProcMem => m !== undefined);
  if (!mems.length) return undefined;
  const sum = (key: keyof ProcMem): number => mems.reduce((a, m) => a + m[key], 0);
  return { rss: sum('rss'), hwm: sum('hwm'), anon: sum('anon') };
}

/** Busy and total jiffies of the whole machine (all CPUs), from /proc/stat. */
export function machineTicks(): { busy: number; total: number } {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** Machine busy share between two machineTicks() readings, in % of ALL CPUs × cpu count (200 % = 2 cores busy). */
export function busyPercent(a: { busy: number; total: number }, b: { busy: number; total: number }, cpus: number): number {
  const total = b.total - a.total;
  return total > 0 ? ((b.busy - a.busy) / total) * 100 * cpus : NaN;
}

/**
 * The kernel's count of connections a listener's full accept queue turned away (TcpExt
 * ListenOverflows, machine-wide: SYNs and handshake-completing ACKs dropped), NaN if unreadable.
 */
export function listenOverflows(): number {
  try {
    const lines = fs.readFileSync('/proc/net/netstat', 'utf8').split('\n').filter((l) => l.startsWith('TcpExt:'));
    const names = lines[0]!.split(/\s+/);
    const values = lines[1]!.split(/\s+/);
    const i = names.indexOf('ListenOverflows');
    return i > 0 ? Number(values[i]) : NaN;
  } catch {
    return NaN;
  }
}

export function loadAverage(): [number, number, number] {
  const parts = fs.readFileSync('/proc/loadavg', 'utf8').split(' ').map(Number);
  return [parts[0] ?? NaN, parts[1] ?? NaN, parts[2] ?? NaN];
}

/** `pid` and every process below it (an engine host and the engine process EngineClient forked). */
export function withDescendants(pid: number): number[] {
  return [pid, ...descendants(pid, readProcs()).filter((p) => p.state !== 'Z').map((p) => p.pid)];
}

/** RSS and peak RSS of a process and its descendants (memOf). */
export function treeMem(pid: number): ProcMem | undefined {
  return memOf(withDescendants(pid));
}

/** resetPeak() of a process and its descendants. */
export function resetTreePeak(pid: number): boolean {
  return withDescendants(pid).map((p) => resetPeak(p)).every(Boolean);
}

/** Processes whose command line contains `needle` (e.g. the sshd session of one client port). */
export function pidsByCmdline(needle: string): number[] {
  return [...readProcs().keys()].filter((pid) => cmdline(pid).join(' ').includes(needle));
}
