/**
 * make bench: the numbers behind "CGI is slow, FastCGI and pre-fork are not".
 *
 *  1. CGI start-up: one request through app/yourapplication.cgi.ts as a fresh
 *     process, with and without the compile cache (what each Apache CGI request costs).
 *  2. The five deployments: wrk inside each container's network namespace
 *     (docker's published-port proxy would be the bottleneck otherwise),
 *     GET /hello, fixed duration and connections, plus the container's memory.
 *
 * Bounded: every load run has a fixed duration; containers are always removed.
 * Usage: node bench/run.ts [--duration 5] [--connections 16] [--modes a,b] [--skip-docker]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '16' },
    modes: { type: 'string', default: 'apache-cgi,apache-fcgid,nginx-fcgi,lighttpd-fcgi,nginx-prefork' },
    'skip-docker': { type: 'boolean', default: false },
    runs: { type: 'string', default: '20' },
  },
});

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function cgiOnce(env: NodeJS.ProcessEnv): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, [join(root, 'app/yourapplication.cgi.ts')], {
    env: { PATH: process.env.PATH, REQUEST_METHOD: 'GET', PATH_INFO: '/hello', SERVER_NAME: 'bench', ...env },
  });
  const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
  if (!result.stdout.toString().endsWith('Hello, World!\n')) throw new Error(`CGI request failed: ${result.stderr}`);
  return elapsed;
}

function benchCgiStartup(runs: number): void {
  const cache = mkdtempSync(join(tmpdir(), 'tsgi-bench-cache-'));
  try {
    const bare = median(Array.from({ length: runs }, () => {
      const t = process.hrtime.bigint();
      spawnSync(process.execPath, ['-e', '0']);
      return Number(process.hrtime.bigint() - t) / 1e6;
    }));
    const fetchFloor = median(Array.from({ length: runs }, () => {
      const t = process.hrtime.bigint();
      spawnSync(process.execPath, ['-e', 'new Response("x")']);
      return Number(process.hrtime.bigint() - t) / 1e6;
    }));
    const cold = median(Array.from({ length: runs }, () => cgiOnce({ NODE_DISABLE_COMPILE_CACHE: '1' })));
    cgiOnce({ NODE_COMPILE_CACHE: cache });
    const warm = median(Array.from({ length: runs }, () => cgiOnce({ NODE_COMPILE_CACHE: cache })));
    console.log(`\nCGI start-up, one GET /hello per process (median of ${runs}):`);
    console.log(`  node -e 0 (floor)             ${bare.toFixed(1)} ms`);
    console.log(`  node, first Response object   ${fetchFloor.toFixed(1)} ms  (loading Node's fetch classes: the floor for any Fetch-API app)`);
    console.log(`  CGI, no compile cache         ${cold.toFixed(1)} ms`);
    console.log(`  CGI, warm compile cache       ${warm.toFixed(1)} ms`);
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
}

function docker(...argv: string[]): string {
  return execFileSync('docker', argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

function imageExists(tag: string): boolean {
  return spawnSync('docker', ['image', 'inspect', tag], { stdio: 'ignore' }).status === 0;
}

async function waitHealthy(id: string): Promise<void> {
  for (let i = 0; i < 120; i++) {
    const status = docker('inspect', '-f', '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}', id);
    if (status === 'healthy') return;
    if (status === 'unhealthy') throw new Error(`container ${id} is unhealthy`);
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`container ${id} did not become healthy`);
}

interface WrkResult { requestsPerSecond: number; latency: string; errors: string }

function parseWrk(output: string): WrkResult {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(output);
  const latency = /Latency\s+(\S+)/.exec(output);
  const errors = /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(output);
  if (!rps) throw new Error(`unexpected wrk output:\n${output}`);
  return { requestsPerSecond: Number(rps[1]), latency: latency?.[1] ?? '?', errors: errors ? errors[0] : 'none' };
}

async function benchDeployments(): Promise<void> {
  const base = process.env.BASE_IMAGE ?? (imageExists('node:24-bookworm-slim') ? 'node:24-bookworm-slim' : 'tsgi-base:24-bookworm');
  if (!imageExists('yourapplication/wrk:latest')) {
    execFileSync('docker', ['build', '-q', '--build-arg', `BASE_IMAGE=${base}`, '-t', 'yourapplication/wrk:latest', join(root, 'images/wrk')], { stdio: 'inherit' });
  }
  console.log(`\nDeployments: wrk -c${args.connections} -d${args.duration}s GET /hello inside each container's netns:`);
  console.log('  mode             req/s      avg latency  errors        memory');
  for (const mode of args.modes.split(',')) {
    const tag = `yourapplication/${mode}:latest`;
    if (!imageExists(tag)) {
      console.log(`  ${mode.padEnd(16)} (image ${tag} missing: run make images)`);
      continue;
    }
    const id = docker('run', '-d', '--rm', tag);
    try {
      await waitHealthy(id);
      // A short warm-up so FastCGI/pre-fork processes are spawned before measuring.
      spawnSync('docker', ['run', '--rm', '--network', `container:${id}`, 'yourapplication/wrk:latest', '-c4', '-d1s', 'http://127.0.0.1:8080/hello']);
      const out = docker('run', '--rm', '--network', `container:${id}`, 'yourapplication/wrk:latest',
        '-t2', `-c${args.connections}`, `-d${args.duration}s`, 'http://127.0.0.1:8080/hello');
      const memory = docker('stats', '--no-stream', '--format', '{{.MemUsage}}', id).split(' / ')[0];
      const r = parseWrk(out);
      console.log(`  ${mode.padEnd(16)} ${r.requestsPerSecond.toFixed(0).padStart(8)}   ${r.latency.padStart(10)}   ${r.errors.padEnd(12)}  ${memory}`);
    } finally {
      spawnSync('docker', ['rm', '-f', id], { stdio: 'ignore' });
    }
  }
}

benchCgiStartup(Number(args.runs));
if (!args['skip-docker']) await benchDeployments();
