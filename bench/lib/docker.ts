/** The containers `make bench` measures: built if missing, started, watched, always removed. */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export function docker(...argv: string[]): string {
  return execFileSync('docker', argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

export function imageExists(tag: string): boolean {
  return spawnSync('docker', ['image', 'inspect', tag], { stdio: 'ignore' }).status === 0;
}

/** The base image the Dockerfiles build FROM: what images/base/resolve.sh picks (it builds one offline if need be). */
export function baseImage(root: string): string {
  if (process.env.BASE_IMAGE) return process.env.BASE_IMAGE;
  return execFileSync(join(root, 'images/base/resolve.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

/**
 * Builds `tag` from `dockerfile` (context `context`, stage `target` if given).
 * `rebuild`: build even if the tag exists (the layer cache makes that a few
 * seconds, and the bench must never measure yesterday's image: ours change
 * with every commit, and the classic stacks' configs follow ours, as when
 * nginx's access log became buffered in both). Only the wrk image is built once.
 */
export function ensureImage(tag: string, dockerfile: string, context: string, base: string, options: { target?: string; rebuild?: boolean } = {}): void {
  if (!options.rebuild && imageExists(tag)) return;
  console.error(`bench: building ${tag}`);
  const args = ['build', '-q', '--build-arg', `BASE_IMAGE=${base}`, '-f', dockerfile, '-t', tag];
  if (options.target) args.push('--target', options.target);
  execFileSync('docker', [...args, context], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DOCKER_BUILDKIT: '0' } });
}

export async function waitHealthy(id: string, seconds = 120): Promise<void> {
  for (let i = 0; i < seconds * 2; i++) {
    const status = docker('inspect', '-f', '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}', id);
    if (status === 'healthy') return;
    if (status === 'unhealthy' || status === 'exited' || status === 'dead') {
      throw new Error(`container ${id.slice(0, 12)} is ${status}:\n${docker('logs', '--tail', '20', id)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`container ${id.slice(0, 12)} did not become healthy in ${seconds} s`);
}

/** Containers started by this run, removed on exit whatever happens. */
const started = new Set<string>();
process.on('exit', () => {
  for (const id of started) spawnSync('docker', ['rm', '-f', id], { stdio: 'ignore' });
});

export function startContainer(tag: string, env: Record<string, string> = {}, runArgs: readonly string[] = []): string {
  const envArgs = Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  const id = docker('run', '-d', '--label', 'yourapplication.bench=1', ...runArgs, ...envArgs, tag);
  started.add(id);
  return id;
}

export function removeContainer(id: string): void {
  spawnSync('docker', ['rm', '-f', id], { stdio: 'ignore' });
  started.delete(id);
}

export interface ProcessMemory {
  pid: number;
  rssMb: number;
  command: string;
}

/** Resident memory of the container's processes whose command line matches `pattern` (the app processes). */
export async function processMemory(id: string, pattern: RegExp): Promise<ProcessMemory[]> {
  const { stdout } = await run('docker', ['top', id, '-eo', 'pid,rss,args']);
  return stdout
    .split('\n')
    .slice(1)
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null && pattern.test(m[3]!))
    .map((m) => ({ pid: Number(m[1]), rssMb: Number(m[2]) / 1024, command: m[3]! }));
}

/** The whole container's memory as docker accounts it (cgroup), in MB. */
export function containerMemoryMb(id: string): number {
  const usage = docker('stats', '--no-stream', '--format', '{{.MemUsage}}', id).split(' / ')[0]!;
  const match = /^([\d.]+)([KMG]i?B)$/.exec(usage.trim());
  if (!match) return Number.NaN;
  const factor: Record<string, number> = { KiB: 1 / 1024, kB: 1 / 1000, MiB: 1, MB: 1, GiB: 1024, GB: 1000 };
  return Number(match[1]) * (factor[match[2]!] ?? 1);
}
