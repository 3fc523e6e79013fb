/** Medians of interleaved rounds: the figure every row of the report quotes. */
import type { WrkResult } from './wrk.ts';

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export interface Summary {
  rounds: number;
  requestsPerSecond: number;
  /** Every round's req/s, for the reader who wants the spread. */
  perRound: number[];
  p50Ms: number;
  p99Ms: number;
  errors: number;
  timeouts: number;
}

export function summarize(results: WrkResult[]): Summary {
  return {
    rounds: results.length,
    requestsPerSecond: median(results.map((r) => r.requestsPerSecond)),
    perRound: results.map((r) => Math.round(r.requestsPerSecond * 10) / 10),
    p50Ms: median(results.map((r) => r.p50Ms)),
    p99Ms: median(results.map((r) => r.p99Ms)),
    errors: results.reduce((sum, r) => sum + r.errors, 0),
    timeouts: results.reduce((sum, r) => sum + r.timeouts, 0),
  };
}

/**
 * How many times `row`'s rate is `reference`'s: the median of the per-round
 * ratios. The two are measured back to back in every round (./order.ts), so
 * each round's pair shares the machine's speed of that moment, and the
 * median of their ratios is steadier than the ratio of the two medians. Rows
 * whose rounds do not pair up (different counts) fall back to that.
 */
export function pairedRatio(row: Summary, reference: Summary): number {
  const paired = row.perRound.length > 0 && row.perRound.length === reference.perRound.length && reference.perRound.every((value) => value > 0);
  if (!paired) return row.requestsPerSecond / reference.requestsPerSecond;
  return median(row.perRound.map((value, round) => value / reference.perRound[round]!));
}
