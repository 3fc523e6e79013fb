/**
 * The faults `make soak` puts each deployment through, one function per row of
 * its table. Load comes from wrk inside the container's network namespace
 * (bench/lib/wrk.ts); every step has a fixed duration or a timeout, so the
 * whole soak is bounded.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { WRK_IMAGE, wrkInContainer, type Load, type WrkResult } from '../lib/wrk.ts';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The processes that run the app: CGI scripts, FastCGI servers, the pre-fork workers (not their master). */
const APP_PROCESS = String.raw`/srv/yourapplication/app/yourapplication\.(cgi|fcgi)|/gateway/http/worker-entry\.ts`;
/** The pre-fork master (`tsgi http`), which only manages the workers. */
const PREFORK_MASTER = String.raw`/gateway/bin/tsgi\.ts http`;

export interface Profile {
  mode: string;
  /** A process per request (CGI): fewer connections, and no pids that a reload could change. */
  perRequest: boolean;
}

/** Connections for the fault rows: wrk -c16, as in the issue; CGI gets 4 (bench does the same). */
const faultLoad = (p: Profile): Load => ({ connections: p.perRequest ? 4 : 16, seconds: 10, timeoutSeconds: 5 });

async function exec(id: string, script: string, timeoutMs = 30_000): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run('docker', ['exec', id, 'bash', '-c', script], { timeout: timeoutMs });
    return { code: 0, out: (stdout + stderr).trim() };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string; message: string };
    return { code: typeof e.code === 'number' ? e.code : 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}`.trim() || e.message };
  }
}

async function appPids(id: string): Promise<number[]> {
  const { out } = await exec(id, `pgrep -f '${APP_PROCESS}' || true`);
  return out.split(/\s+/).filter(Boolean).map(Number).sort((a, b) => a - b);
}

/** wrk for `load`, with `fault` run `afterMs` into it; both results. */
async function underLoad<T>(id: string, load: Load, afterMs: number, fault: () => Promise<T>): Promise<{ wrk: WrkResult; fault: T }> {
  const wrk = wrkInContainer(id, '/hello', load);
  await sleep(afterMs);
  const outcome = await fault();
  return { wrk: await wrk, fault: outcome };
}

const failed = (r: WrkResult) => `${r.errors} failed of ${r.requests.toLocaleString('en')}${r.timeouts ? ` (${r.timeouts} timeouts)` : ''}`;

export async function steadyLoad(id: string, p: Profile, seconds: number): Promise<string> {
  const connections = p.perRequest ? 4 : 64;
  const r = await wrkInContainer(id, '/hello', { connections, seconds });
  return `c${connections}: ${Math.round(r.requestsPerSecond).toLocaleString('en')} req/s, p99 ${r.p99Ms.toFixed(0)} ms, ${failed(r)}`;
}

/** kill -9 of one app process (the newest) under load. */
export async function workerKill(id: string, p: Profile): Promise<string> {
  const { wrk, fault } = await underLoad(id, faultLoad(p), 3_000, async () => {
    // A CGI process lives for one request: look for one for up to 2 s.
    for (let i = 0; i < 20; i++) {
      const { out } = await exec(id, `pid=$(pgrep -n -f '${APP_PROCESS}') && kill -9 "$pid" && echo "$pid"`);
      if (/^\d+$/.test(out)) return `pid ${out}`;
      await sleep(100);
    }
    return 'no app process found to kill';
  });
  return `${failed(wrk)}; killed ${fault}`;
}

export async function masterKill(id: string, p: Profile): Promise<string> {
  const { wrk, fault } = await underLoad(id, { ...faultLoad(p), connections: 64 }, 3_000, () =>
    exec(id, `pid=$(pgrep -f '${PREFORK_MASTER}') && kill -9 "$pid" && echo "$pid"`));
  return `c64: ${failed(wrk)}; killed the master, pid ${fault.out}`;
}

/** `yourapplication-reload` (what `make reload-<mode>` runs) under load; did the app processes change? */
export async function reload(id: string, p: Profile): Promise<string> {
  const before = await appPids(id);
  const { wrk, fault } = await underLoad(id, faultLoad(p), 3_000, () => exec(id, 'yourapplication-reload', 60_000));
  const after = await appPids(id);
  const replaced = p.perRequest ? 'a process per request' : before.some((pid) => after.includes(pid)) ? `pids NOT all replaced (${before} -> ${after})` : `pids ${before.join(',')} -> ${after.join(',')}`;
  return `c${faultLoad(p).connections}: ${failed(wrk)}; reload exit ${fault.code}; ${replaced}`;
}

/**
 * Slow clients: bench/soak/slowloris.sh, if present, is run twice,
 * `slowloris.sh <container id> header` then `... body` (500 connections,
 * 40 s each, bounded to 3 minutes); each run's last line (the seconds /hello
 * was unavailable) goes into the table's cell.
 */
export async function slowloris(id: string, _p: Profile, script: string): Promise<string> {
  if (!existsSync(script)) return 'not run (no bench/soak/slowloris.sh)';
  const cells: string[] = [];
  // 500 slow request heads, then 500 slow bodies: the script prints the seconds /hello was unavailable.
  for (const [kind, label] of [['header', 'slow headers'], ['body', 'slow bodies']] as const) {
    try {
      const { stdout } = await run(script, [id, kind], { timeout: 180_000 });
      cells.push(`${label}: ${stdout.trim().split('\n').at(-1) ?? '(no output)'}`);
    } catch (error) {
      cells.push(`${label}: slowloris.sh failed: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  return cells.join('; ');
}

/**
 * `docker kill -s TERM` (what docker stop, compose and Kubernetes send) while a
 * 3 s request is in flight: its answer, the container's exit code, and how long
 * the stop took. The request comes from a helper container in the same network
 * namespace. Leaves the container stopped.
 */
export async function sigtermInFlight(id: string, graceSeconds: number): Promise<string> {
  const request = 'exec 3<>/dev/tcp/127.0.0.1/8080; printf "GET /slow?ms=3000 HTTP/1.1\\r\\nHost: soak\\r\\nConnection: close\\r\\n\\r\\n" >&3; IFS= read -r line <&3; echo "$line"';
  const client = spawn('docker', ['run', '--rm', '--network', `container:${id}`, '--entrypoint', 'bash', WRK_IMAGE, '-c', `timeout 20 bash -c '${request}'`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let answer = '';
  client.stdout.on('data', (chunk: Buffer) => { answer += chunk.toString(); });
  const clientDone = new Promise<void>((resolve) => client.on('close', () => resolve()));
  await sleep(1_500);
  const t0 = Date.now();
  await run('docker', ['kill', '-s', 'TERM', id]);
  let code = '?';
  try {
    const { stdout } = await run('docker', ['wait', id], { timeout: (graceSeconds + 15) * 1000 });
    code = stdout.trim();
  } catch {
    code = `still running after ${graceSeconds + 15} s`;
  }
  const seconds = (Date.now() - t0) / 1000;
  await Promise.race([clientDone, sleep(10_000)]);
  const status = answer.trim().replace(/^HTTP\/1\.[01] /, '') || 'no answer (dropped)';
  return `in-flight request: ${status}; exit ${code} after ${seconds.toFixed(1)} s`;
}

