/** Small statistics helpers: median, min–max, percentiles, formatting. */

export function median(xs: number[]): number {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}

/** Nearest-rank percentile (p in 0..100). */
export function percentile(xs: number[], p: number): number {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return NaN;
  const rank = Math.min(v.length - 1, Math.max(0, Math.ceil((p / 100) * v.length) - 1));
  return v[rank]!;
}

export interface Summary {
  median: number;
  min: number;
  max: number;
  n: number;
  values: number[];
}

export function summarize(xs: number[]): Summary {
  const v = xs.filter((x) => Number.isFinite(x));
  return {
    median: median(v),
    min: v.length ? Math.min(...v) : NaN,
    max: v.length ? Math.max(...v) : NaN,
    n: v.length,
    values: xs,
  };
}

/** A number with about 3 significant digits (no exponent). */
export function num(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return '–';
  const abs = Math.abs(x);
  if (abs >= 10 ** digits) return Math.round(x).toString();
  if (abs === 0) return '0';
  const d = Math.max(0, digits - 1 - Math.floor(Math.log10(abs)));
  return x.toFixed(Math.min(d, 3));
}

/** `median (min–max)`. */
export function cell(s: Summary | undefined, digits = 3): string {
  if (!s || !s.n) return '–';
  if (s.n === 1) return num(s.median, digits);
  return `${num(s.median, digits)} (${num(s.min, digits)}–${num(s.max, digits)})`;
}

export function ratio(ours: number, theirs: number): string {
  if (!Number.isFinite(ours) || !Number.isFinite(theirs) || theirs === 0) return '–';
  return `${(ours / theirs).toFixed(2)}×`;
}

/**
 * ours[i] / theirs[i] for each round both measured: rounds are interleaved, so a box that is busier
 * in one round than another slows both sides of that round's pair, not the ratio.
 */
export function pairedRatios(ours: number[], theirs: number[]): Summary {
  const n = Math.min(ours.length, theirs.length);
  const r: number[] = [];
  for (let i = 0; i < n; i++) if (Number.isFinite(ours[i]) && Number.isFinite(theirs[i]) && theirs[i] !== 0) r.push(ours[i]! / theirs[i]!);
  return summarize(r);
}

/** `0.92× (0.81–1.05)`: the ratio of the medians, and the lowest and highest ratio of one round's pair. */
export function ratioCell(ours: Summary, theirs: Summary): string {
  const r = ratio(ours.median, theirs.median);
  const p = pairedRatios(ours.values, theirs.values);
  return p.n > 1 && r !== '–' ? `${r} (${p.min.toFixed(2)}–${p.max.toFixed(2)})` : r;
}

export const MB = 1e6;
export const MiB = 1024 * 1024;
