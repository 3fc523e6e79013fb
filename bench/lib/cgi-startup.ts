/**
 * Where a CGI request's time goes: every Apache CGI request starts Node
 * afresh, so the start-up is the request. Measured step by step on the host
 * with the image's own entry (app/yourapplication.cgi.ts).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CgiStartup } from './report.ts';
import { median } from './stats.ts';

function timed(args: string[], env: NodeJS.ProcessEnv, check?: (stdout: string) => boolean): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' });
  const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0 || (check && !check(result.stdout))) throw new Error(`bench: ${args.join(' ')} failed:\n${result.stderr}`);
  return elapsed;
}

export function cgiStartup(root: string, runs: number): CgiStartup {
  const cache = mkdtempSync(join(tmpdir(), 'tsgi-bench-cache-'));
  const cgi = join(root, 'app/yourapplication.cgi.ts');
  const request = { REQUEST_METHOD: 'GET', PATH_INFO: '/hello', SCRIPT_NAME: '', SERVER_NAME: 'bench', SERVER_PORT: '80', SERVER_PROTOCOL: 'HTTP/1.1' };
  const hello = (stdout: string) => stdout.endsWith('Hello, World!\n');
  const importOnly = `const { enableCompileCache } = await import('node:module'); enableCompileCache();
await import(${JSON.stringify(join(root, 'gateway/cgi.ts'))}); await import(${JSON.stringify(join(root, 'app/app.ts'))});`;
  try {
    // Warm the cache once, as the image build does.
    timed([cgi], { ...request, NODE_COMPILE_CACHE: cache }, hello);
    timed(['--input-type=module', '-e', importOnly], { NODE_COMPILE_CACHE: cache });
    const series = (args: string[], env: NodeJS.ProcessEnv, check?: (s: string) => boolean) =>
      median(Array.from({ length: runs }, () => timed(args, env, check)));
    return {
      runs,
      nodeBare: series(['-e', '0'], {}),
      nodeWithResponse: series(['-e', 'new Response("x")'], {}),
      gatewayImport: series(['--input-type=module', '-e', importOnly], { NODE_COMPILE_CACHE: cache }),
      cgiNoCache: series([cgi], { ...request, NODE_DISABLE_COMPILE_CACHE: '1' }, hello),
      cgiWarmCache: series([cgi], { ...request, NODE_COMPILE_CACHE: cache }, hello),
    };
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
}
