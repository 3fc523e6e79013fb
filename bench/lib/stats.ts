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
    perRound: results.map((r) => Math.round(r.requestsPerSecond)),
    p50Ms: median(results.map((r) => r.p50Ms)),
    p99Ms: median(results.map((r) => r.p99Ms)),
    errors: results.reduce((sum, r) => sum + r.errors, 0),
    timeouts: results.reduce((sum, r) => sum + r.timeouts, 0),
  };
}
