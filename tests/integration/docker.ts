/**
 * The few Docker operations the integration tests need, through the docker
 * CLI: building with the classic builder (this engine has no buildx, and the
 * CLI defaults to BuildKit), and reading a container's health, processes and logs.
 */
import { execFile, spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `docker ...args`; never throws on a non-zero exit (the caller decides). */
export function docker(args: string[], timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile('docker', args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, DOCKER_BUILDKIT: '0' } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) || (error && !stdout ? String(error.message) : '') });
      });
  });
}

export async function imageExists(tag: string): Promise<boolean> {
  return (await docker(['image', 'inspect', '--format', '{{.Id}}', tag])).code === 0;
}

/**
 * `docker build` with the output in `logFile`; rejects with the log's tail.
 * The layer cache makes a rebuild with unchanged inputs take a second or two.
 */
export function buildImage(options: {
  context: string;
  dockerfile: string;
  /** The stage to build, for a multi-stage Dockerfile. */
  target?: string;
  tag: string;
  buildArgs: Record<string, string>;
  logFile: string;
  timeoutMs: number;
}): Promise<void> {
  const args = ['build', '--file', options.dockerfile, '--tag', options.tag];
  if (options.target) args.push('--target', options.target);
  for (const [key, value] of Object.entries(options.buildArgs)) args.push('--build-arg', `${key}=${value}`);
  args.push(options.context);
  return new Promise((resolve, reject) => {
    const log = createWriteStream(options.logFile);
    const child = spawn('docker', args, { env: { ...process.env, DOCKER_BUILDKIT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    const timer = setTimeout(() => child.kill('SIGTERM'), options.timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      log.end(async () => {
        if (code === 0) return resolve();
        const text = await readFile(options.logFile, 'utf8').catch(() => '');
        const tail = text.split('\n').slice(-40).join('\n');
        reject(new Error(`docker build ${options.tag} failed (${signal ?? `exit ${code}`}); log ${options.logFile}:\n${tail}`));
      });
    });
  });
}

/** The container's health status ("starting", "healthy", "unhealthy"), or "none" without a HEALTHCHECK. */
export async function healthStatus(containerId: string): Promise<string> {
  const run = await docker(['inspect', '--format', '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}', containerId]);
  if (run.code !== 0) throw new Error(`docker inspect ${containerId}: ${run.stderr}`);
  return run.stdout.trim();
}

export async function containerLogs(containerId: string): Promise<string> {
  const run = await docker(['logs', containerId]);
  if (run.code !== 0) throw new Error(`docker logs ${containerId}: ${run.stderr}`);
  return run.stdout + run.stderr;
}

/** The address the container sees connections from the host's published port come from. */
export async function networkGateway(containerId: string): Promise<string> {
  const run = await docker(['inspect', '--format', '{{range .NetworkSettings.Networks}}{{.Gateway}} {{end}}', containerId]);
  return run.stdout.trim().split(/\s+/)[0] ?? '';
}

export interface ProcessInfo {
  pid: number;
  uid: number;
  cmdline: string;
  /** Its environment ("NAME=value" lines), or null where the reader may not see it (another user's process). */
  environ: string[] | null;
  /** Its scheduling policy, field 41 of /proc/<pid>/stat: 0 SCHED_OTHER, 3 SCHED_BATCH, 5 SCHED_IDLE. */
  policy: number;
}

/**
 * Every process in the container, from /proc (minimal images have no ps).
 * Read by the image's own node, which every mode has; the reader leaves itself out.
 */
export async function containerProcesses(containerId: string): Promise<ProcessInfo[]> {
  const script = `
    const fs = require('node:fs');
    const out = [];
    for (const entry of fs.readdirSync('/proc')) {
      if (!/^\\d+$/.test(entry) || Number(entry) === process.pid) continue;
      try {
        const status = fs.readFileSync('/proc/' + entry + '/status', 'utf8');
        const uid = Number(/^Uid:\\s+(\\d+)/m.exec(status)[1]);
        const cmdline = fs.readFileSync('/proc/' + entry + '/cmdline', 'utf8').split('\\0').join(' ').trim();
        // After the command name in parentheses (which may hold spaces) come fields 3, 4, ...
        const stat = fs.readFileSync('/proc/' + entry + '/stat', 'utf8');
        const policy = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[41 - 3]);
        let environ = null;
        try { environ = fs.readFileSync('/proc/' + entry + '/environ', 'utf8').split('\\0').filter(Boolean); } catch {}
        out.push({ pid: Number(entry), uid, cmdline, environ, policy });
      } catch {}
    }
    process.stdout.write(JSON.stringify(out));`;
  const run = await docker(['exec', containerId, 'node', '-e', script]);
  if (run.code !== 0) throw new Error(`docker exec ${containerId} node: exit ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout) as ProcessInfo[];
}

/**
 * Host ports for published container ports are chosen here, below the
 * kernel's ephemeral range (ip_local_port_range, 32768-60999 by default).
 * Docker's own choice comes from that very range, which the test's outgoing
 * connections churn through: in one CI run ten consecutive ports (32768-32777)
 * were held by client sockets, Docker's ten attempts all failed, and a start
 * failed with "bind: address already in use". No client socket gets a port
 * below the range, so a clash can only come from another container start of
 * this run picking the same port, and then the next candidate is tried.
 */
const HOST_PORTS = hostPortRange();
const PORT_ATTEMPTS = 20;
const PORT_CLASH = /address already in use|port is already allocated/;

/**
 * Some 12,000 ports just below the ephemeral range (20000-32767 with the
 * default range); a machine whose ephemeral range starts too low for that
 * leaves the clash to the retries.
 */
function hostPortRange(): { low: number; high: number } {
  let ephemeralLow = 32_768;
  try {
    ephemeralLow = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || ephemeralLow;
  } catch {
    // Not Linux: keep the default.
  }
  return ephemeralLow > 13_024 ? { low: ephemeralLow - 12_768, high: ephemeralLow - 1 } : { low: 20_000, high: 32_767 };
}

/** Candidate host ports: random, so that parallel test files rarely meet. */
function* hostPortCandidates(): Generator<number> {
  for (;;) yield HOST_PORTS.low + Math.floor(Math.random() * (HOST_PORTS.high - HOST_PORTS.low + 1));
}

/** True when nothing on the host holds 127.0.0.1:`port` right now. */
function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * Calls `start(hostPort)` with a free host port until it does not fail with a
 * port clash; `candidates` is for tests. Rejects with the last error otherwise.
 */
export async function withHostPort<T>(start: (hostPort: number) => Promise<T>, candidates: Iterable<number> = hostPortCandidates()): Promise<T> {
  let attempts = 0;
  let last: unknown = new Error('no host port candidate');
  for (const port of candidates) {
    if (++attempts > PORT_ATTEMPTS) break;
    if (!(await isFree(port))) continue;
    try {
      return await start(port);
    } catch (error) {
      last = error;
      if (!PORT_CLASH.test(error instanceof Error ? error.message : String(error))) throw error;
    }
  }
  throw last;
}

export interface Published {
  id: string;
  /** The host port 127.0.0.1 that reaches the container's port. */
  port: number;
}

/**
 * `docker run -d ...args` with `containerPort` published on 127.0.0.1 at a
 * port chosen by withHostPort. A start that fails leaves no container behind.
 */
export async function runPublished(args: string[], containerPort = 8080, candidates?: Iterable<number>): Promise<Published> {
  return withHostPort(async (port) => {
    const created = await docker(['create', '-p', `127.0.0.1:${port}:${containerPort}`, ...args], 120_000);
    if (created.code !== 0) throw new Error(`docker create ${args.join(' ')}: ${created.stderr.trim()}`);
    const id = created.stdout.trim();
    const started = await docker(['start', id], 120_000);
    if (started.code === 0) return { id, port };
    await docker(['rm', '-f', id]);
    throw new Error(`docker start (${args.join(' ')}): ${started.stderr.trim()}`);
  }, candidates);
}

/**
 * withHostPort for a testcontainers start (`start` publishes the container's
 * port at the host port it is given). A failed start leaves its created
 * container behind; `leftovers`, a label=value filter unique to this
 * container, finds it to remove it.
 */
export function startWithHostPort<T>(leftovers: string, start: (hostPort: number) => Promise<T>): Promise<T> {
  return withHostPort(async (port) => {
    try {
      return await start(port);
    } catch (error) {
      const ids = (await docker(['ps', '-aq', '--filter', `label=${leftovers}`, '--filter', 'status=created'])).stdout.trim().split('\n').filter(Boolean);
      if (ids.length > 0) await docker(['rm', '-f', ...ids]);
      throw error;
    }
  });
}
