/**
 * wrk, the load generator of every figure in `make bench`: runs it (on the
 * host against 127.0.0.1, or in a container's network namespace) and parses
 * its --latency report. Every run has a fixed duration: the loop is bounded.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface WrkResult {
  requestsPerSecond: number;
  requests: number;
  p50Ms: number;
  p99Ms: number;
  /** Socket errors (connect, read, write) plus timeouts plus non-2xx/3xx answers. */
  errors: number;
  timeouts: number;
}

export interface Load {
  connections: number;
  seconds: number;
  threads?: number;
  /** wrk's --timeout: an answer slower than this counts as an error. Default 2 s. */
  timeoutSeconds?: number;
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function duration(text: string): number {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(text);
  if (!match) throw new Error(`wrk: cannot read the duration "${text}"`);
  return Number(match[1]) * UNIT_MS[match[2]!]!;
}

export function parseWrk(output: string): WrkResult {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(output);
  const total = /(\d+) requests in/.exec(output);
  const p50 = /^\s+50%\s+(\S+)/m.exec(output);
  const p99 = /^\s+99%\s+(\S+)/m.exec(output);
  if (!rps || !total || !p50 || !p99) throw new Error(`unexpected wrk output:\n${output}`);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1] ?? 0);
  const timeouts = Number(socket?.[4] ?? 0);
  const errors = socket ? Number(socket[1]) + Number(socket[2]) + Number(socket[3]) + timeouts + non2xx : non2xx;
  return {
    requestsPerSecond: Number(rps[1]),
    requests: Number(total[1]),
    p50Ms: duration(p50[1]!),
    p99Ms: duration(p99[1]!),
    errors,
    timeouts,
  };
}

function wrkArgs(load: Load, url: string): string[] {
  return [`-t${load.threads ?? 1}`, `-c${load.connections}`, `-d${load.seconds}s`, '--timeout', `${load.timeoutSeconds ?? 2}s`, '--latency', url];
}

/** wrk on the host (Debian's wrk package). */
export async function wrkOnHost(url: string, load: Load): Promise<WrkResult> {
  const { stdout } = await run('wrk', wrkArgs(load, url), { timeout: (load.seconds + 30) * 1000 });
  return parseWrk(stdout);
}

export const WRK_IMAGE = 'yourapplication/wrk:latest';

/**
 * wrk inside a container's network namespace: docker's published-port proxy
 * would be the bottleneck otherwise, and the traffic never leaves that namespace.
 */
export async function wrkInContainer(containerId: string, path: string, load: Load): Promise<WrkResult> {
  const { stdout } = await run(
    'docker',
    ['run', '--rm', '--network', `container:${containerId}`, WRK_IMAGE, ...wrkArgs(load, `http://127.0.0.1:8080${path}`)],
    { timeout: (load.seconds + 60) * 1000 },
  );
  return parseWrk(stdout);
}
