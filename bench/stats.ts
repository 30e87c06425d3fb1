/** Summaries the bench reports: every figure is a median with its min and max over several runs. */

export interface Stat {
  median: number;
  min: number;
  max: number;
}

/** Rounded to a tenth: the machine is shared, so more digits would only be noise. */
export const round = (value: number, digits = 1): number => Math.round(value * 10 ** digits) / 10 ** digits;

export function stat(values: readonly number[]): Stat {
  if (values.length === 0) throw new Error('no samples');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median: round(median), min: round(sorted[0]!), max: round(sorted.at(-1)!) };
}

/** Nearest rank: of 20 samples, p99 is the largest (no interpolation inventing a value nobody saw). */
export function p99(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil(0.99 * sorted.length) - 1]!;
}

/** The clock every bench process shares on one machine: epoch milliseconds, sub-millisecond resolution. */
export const epochNow = (): number => performance.timeOrigin + performance.now();

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
