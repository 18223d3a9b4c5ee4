/**
 * Two `npm run bench` result files side by side: the median of every measurement both runs made,
 * its change, and for SSH Tunnels' rows the ratio to OpenSSH in each run. Absolute numbers move with
 * how busy the machine was (OpenSSH's rows show by how much); the ratios, measured interleaved in
 * the same run, are what to compare.
 */
import { median } from './stats';

type Runs = Record<string, Array<Record<string, unknown>>>;

/** The parts of a result file (bench/results/*.json) this reads. */
export interface BenchResults {
  meta?: { date?: string; rounds?: number; bulkBytes?: number; quick?: boolean; tcpCongestionControl?: string };
  bulk?: Runs;
  short?: Runs;
  firstByte?: Runs;
  concurrent?: Runs;
  /** The `vscode` section: samples by phase, through SSH Tunnels and through OpenSSH's `ssh -L`. */
  vscode?: { phases?: Runs; openssh?: Runs };
}

export interface ComparisonRow {
  /** The scenario key, e.g. `bulk | ours | aes128-gcm | -L | to`. */
  scenario: string;
  metric: string;
  unit: string;
  better: 'higher' | 'lower';
  before: number;
  after: number;
  /** after / before − 1. */
  change: number;
  /** For forwarders other than OpenSSH, on throughput metrics: value / OpenSSH's in the same run. */
  ratioBefore?: number;
  ratioAfter?: number;
}

/** The sections compared: a result file's, and its `vscode` section split by what its phases move. */
type Section = 'bulk' | 'short' | 'firstByte' | 'concurrent' | 'vscodeBulk' | 'vscodeShort' | 'vscodeBurst' | 'vscodeAll';

interface Metric { section: Section; field: string; metric: string; unit: string; better: 'higher' | 'lower'; ratio: boolean }

const METRICS: Metric[] = [
  { section: 'bulk', field: 'mbps', metric: 'throughput', unit: 'MB/s', better: 'higher', ratio: true },
  { section: 'bulk', field: 'fwdCpuPerGB', metric: 'forwarder CPU', unit: 'CPU-s/GB', better: 'lower', ratio: false },
  { section: 'short', field: 'perSecond', metric: 'short connections', unit: 'conn/s', better: 'higher', ratio: true },
  { section: 'firstByte', field: 'p50', metric: 'first byte p50', unit: 'ms', better: 'lower', ratio: false },
  { section: 'concurrent', field: 'seconds', metric: 'all echoed after', unit: 's', better: 'lower', ratio: false },
  { section: 'vscodeBulk', field: 'work', metric: 'in VS Code: throughput', unit: 'MB/s', better: 'higher', ratio: true },
  { section: 'vscodeShort', field: 'work', metric: 'in VS Code: short connections', unit: 'conn/s', better: 'higher', ratio: true },
  { section: 'vscodeBurst', field: 'work', metric: 'in VS Code: all echoed after', unit: 's', better: 'lower', ratio: false },
  { section: 'vscodeAll', field: 'p99', metric: 'in VS Code: extension host ELD p99', unit: 'ms', better: 'lower', ratio: false },
];

/**
 * A section's runs by scenario key. The `vscode` section's phases become keys like the others'
 * (`vscode | ours | bulk -L to`, `vscode | openssh | bulk -L to`), split by what the phase moves.
 */
function sectionRuns(r: BenchResults, section: Section): Runs | undefined {
  if (!section.startsWith('vscode')) return r[section as 'bulk' | 'short' | 'firstByte' | 'concurrent'];
  if (!r.vscode) return undefined;
  const kind = (phase: string): Section => phase.startsWith('bulk') ? 'vscodeBulk' : phase.startsWith('short') ? 'vscodeShort' : phase.includes('concurrent') ? 'vscodeBurst' : 'vscodeAll';
  const out: Runs = {};
  for (const [who, phases] of [['ours', r.vscode.phases], ['openssh', r.vscode.openssh]] as const) {
    for (const [phase, samples] of Object.entries(phases ?? {})) {
      if (section === 'vscodeAll' || kind(phase) === section) out[`vscode | ${who} | ${phase}`] = samples;
    }
  }
  return out;
}

/** The same scenario through OpenSSH's client (`| ours |`, `| ours-worker |`, … → `| openssh |`). */
function openSshKey(scenario: string): string | undefined {
  const parts = scenario.split(' | ');
  if (parts.length < 2 || parts[1] === 'openssh' || parts[1] === 'raw') return undefined;
  parts[1] = 'openssh';
  return parts.join(' | ');
}

function medianOf(runs: Runs | undefined, scenario: string | undefined, field: string): number | undefined {
  if (!runs || scenario === undefined) return undefined;
  const values = (runs[scenario] ?? []).map((r) => r[field]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  return values.length ? median(values) : undefined;
}

/** Every measurement both runs have, in the order of the later run's report. */
export function compareRuns(before: BenchResults, after: BenchResults): ComparisonRow[] {
  const rows: ComparisonRow[] = [];
  for (const m of METRICS) {
    const b = sectionRuns(before, m.section);
    const a = sectionRuns(after, m.section);
    if (!a || !b) continue;
    for (const scenario of Object.keys(a)) {
      const vb = medianOf(b, scenario, m.field);
      const va = medianOf(a, scenario, m.field);
      if (vb === undefined || va === undefined) continue;
      const row: ComparisonRow = { scenario, metric: m.metric, unit: m.unit, better: m.better, before: vb, after: va, change: va / vb - 1 };
      if (m.ratio) {
        const o = openSshKey(scenario);
        const ob = medianOf(b, o, m.field);
        const oa = medianOf(a, o, m.field);
        if (ob !== undefined && oa !== undefined) {
          row.ratioBefore = vb / ob;
          row.ratioAfter = va / oa;
        }
      }
      rows.push(row);
    }
  }
  return rows;
}

const fmt = (x: number): string => (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toPrecision(3));
const pct = (x: number): string => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)} %`;

function describeRun(r: BenchResults): string {
  const m = r.meta ?? {};
  const size = m.bulkBytes ? `, ${Math.round(m.bulkBytes / 2 ** 20)} MiB bulk` : '';
  const cc = m.tcpCongestionControl ? `, TCP ${m.tcpCongestionControl}` : '';
  return `${m.date ?? 'unknown date'} (${m.rounds ?? '?'} rounds${size}${m.quick ? ', quick' : ''}${cc})`;
}

/** A markdown section: one row per measurement; an arrow marks a change of more than `noise` (default 10 %) for the better (↑) or the worse (↓). */
export function renderComparison(before: BenchResults, after: BenchResults, noise = 0.1): string {
  const rows = compareRuns(before, after);
  const out = [
    `### Against an earlier run: ${describeRun(before)} → ${describeRun(after)}`,
    '',
    `Medians. ↑/↓: better/worse by more than ${Math.round(noise * 100)} % (this box's run-to-run noise); OpenSSH's rows show how much the machine itself changed — compare SSH Tunnels by its ratio to OpenSSH in each run.`,
    '',
  ];
  const ccBefore = before.meta?.tcpCongestionControl;
  const ccAfter = after.meta?.tcpCongestionControl;
  if (ccBefore && ccAfter && ccBefore !== ccAfter) {
    out.push(`**The two runs used different TCP congestion control (${ccBefore} → ${ccAfter}).** It changes what sshd spends per GB and OpenSSH's own rates (bench/FINDINGS.md, "sshd's extra CPU is BBR's pacing"): compare the ratios, not the figures.`, '');
  }
  if (!rows.length) return [...out, 'No measurement in common.', ''].join('\n');
  out.push('| scenario | metric | before | after | change | ratio to OpenSSH before → after |', '|---|---|---|---|---|---|');
  for (const r of rows) {
    const good = r.better === 'higher' ? r.change > noise : r.change < -noise;
    const bad = r.better === 'higher' ? r.change < -noise : r.change > noise;
    const ratio = r.ratioBefore !== undefined && r.ratioAfter !== undefined ? `${r.ratioBefore.toFixed(2)}× → ${r.ratioAfter.toFixed(2)}×` : '';
    // The key's own separators would split the markdown cell.
    out.push(`| ${r.scenario.split(' | ').join(' · ')} | ${r.metric} | ${fmt(r.before)} ${r.unit} | ${fmt(r.after)} ${r.unit} | ${pct(r.change)}${good ? ' ↑' : bad ? ' ↓' : ''} | ${ratio} |`);
  }
  return [...out, ''].join('\n');
}
