// Real nginx in front of the FastCGI transport, configured like the seeds' recipe:
// (a) fastcgi_pass to a unix socket our server binds in this process;
// (b) fastcgi_pass to an app started by Debian's spawn-fcgi, which hands it the listening
//     socket on fd 0 (how mod_fcgid, lighttpd bin-path and supervisord start FastCGI apps).
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveFastCgi, type FastCgiServer } from '../../gateway/fastcgi/server.ts';
import app from '../fixtures/fastcgi-echo-app.ts';
import { freePort, startNginx, waitFor, type RunningNginx } from '../fixtures/nginx-runner.ts';
import { requireTool } from '../fixtures/require-tool.ts';

const SPAWN_FCGI = requireTool('/usr/bin/spawn-fcgi', 'spawn-fcgi');
const ENTRY = fileURLToPath(new URL('../fixtures/fastcgi-or-cgi-entry.ts', import.meta.url));

const dir = mkdtempSync(join(tmpdir(), 'fcgi-nginx-'));
const ownSocket = join(dir, 'own.sock');
const spawnedSocket = join(dir, 'spawned.sock');
let server: FastCgiServer;
let nginx: RunningNginx;
let spawned: ChildProcess;
let spawnedExit: Promise<number | null>;
let spawnedStderr = '';
let ownPort: number;
let spawnedPort: number;
let fastcgiConnections = 0;

/** The seed's /yourapplication recipe, plus the root recipe on the same upstream. */
function locations(upstream: string): string {
  return `
    location /__ready { return 204; }
    location /yourapplication {
      include /etc/nginx/fastcgi_params;
      fastcgi_split_path_info ^(/yourapplication)(.*)$;
      fastcgi_param PATH_INFO $fastcgi_path_info;
      fastcgi_param SCRIPT_NAME $fastcgi_script_name;
      fastcgi_param HTTP_PROXY "";
      fastcgi_keep_conn on;
      fastcgi_pass ${upstream};
    }
    location / { try_files $uri @yourapplication; }
    location @yourapplication {
      include /etc/nginx/fastcgi_params;
      fastcgi_param PATH_INFO $fastcgi_script_name;
      fastcgi_param SCRIPT_NAME "";
      fastcgi_keep_conn on;
      fastcgi_pass ${upstream};
    }`;
}

beforeAll(async () => {
  server = await serveFastCgi(app, { kind: 'unix', path: ownSocket }, { socketMode: 0o777, log: () => {} });
  server.server.on('connection', () => fastcgiConnections++);

  spawned = spawn(SPAWN_FCGI, ['-s', spawnedSocket, '-M', '0777', '-n', '--', process.execPath, ENTRY], { stdio: ['ignore', 'ignore', 'pipe'] });
  spawned.stderr!.on('data', (d: Buffer) => { spawnedStderr += d; });
  spawnedExit = new Promise((resolve) => spawned.once('exit', (code) => resolve(code)));
  await waitFor(async () => existsSync(spawnedSocket), 'spawn-fcgi socket');

  [ownPort, spawnedPort] = [await freePort(), await freePort()];
  nginx = await startNginx(dir, `
  upstream own { server unix:${ownSocket}; keepalive 4; }
  upstream spawned { server unix:${spawnedSocket}; keepalive 4; }
  client_max_body_size 10m;
  server {
    listen 127.0.0.1:${ownPort};
    root ${join(dir, 'www')};
    ${locations('own')}
  }
  server {
    listen 127.0.0.1:${spawnedPort};
    root ${join(dir, 'www')};
    ${locations('spawned')}
  }`, [ownPort, spawnedPort]);
}, 30_000);

afterAll(async () => {
  await nginx?.stop();
  if (spawned && spawned.exitCode === null) spawned.kill('SIGKILL');
  await server?.close(1000);
  rmSync(dir, { recursive: true, force: true });
});

const modes = { 'our unix socket': () => ownPort, 'spawn-fcgi fd 0': () => spawnedPort };

describe.each(Object.keys(modes))('nginx -> FastCGI via %s', (mode) => {
  const url = (path: string): string => `http://127.0.0.1:${modes[mode as keyof typeof modes]()}${path}`;

  it('GET under /yourapplication: status, headers, body', async () => {
    const response = await fetch(url('/yourapplication/hello'));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain');
    expect(await response.text()).toBe('Hello, World!\n');
  });

  it('splits SCRIPT_NAME and PATH_INFO at the mount, keeps REQUEST_URI raw', async () => {
    const response = await fetch(url('/yourapplication/echo/a%20b?x=%C3%A9&y=1'), { headers: { 'X-Custom': 'v' } });
    expect(response.headers.get('x-echo')).toBe('yes');
    const echo = await response.json();
    expect(echo).toMatchObject({
      method: 'GET', scriptName: '/yourapplication', pathInfo: '/echo/a b', query: '?x=%C3%A9&y=1',
      environ: { SCRIPT_NAME: '/yourapplication', PATH_INFO: '/echo/a b', REQUEST_URI: '/yourapplication/echo/a%20b?x=%C3%A9&y=1' },
    });
    expect(echo.url).toBe('http://127.0.0.1/yourapplication/echo/a%20b?x=%C3%A9&y=1');
    expect(echo.headers['x-custom']).toBe('v');
  });

  it('the root recipe: SCRIPT_NAME sent twice, the last (empty) one wins', async () => {
    const echo = await (await fetch(url('/echo/z'))).json();
    expect(echo).toMatchObject({ scriptName: '', pathInfo: '/echo/z' });
  });

  it('POST bodies arrive whole (form and 1 MiB binary)', async () => {
    const form = await (await fetch(url('/yourapplication/echo'), { method: 'POST', body: new URLSearchParams({ a: '1', b: 'two' }) })).json();
    expect(form.body.text).toBe('a=1&b=two');
    expect(form.headers['content-type']).toBe('application/x-www-form-urlencoded;charset=UTF-8');
    const big = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 13) % 256;
    const echo = await (await fetch(url('/yourapplication/echo'), { method: 'POST', body: big })).json();
    expect(echo.body).toEqual({ length: big.length, sha256: createHash('sha256').update(big).digest('hex'), text: expect.any(String) });
  });

  it('a 5 MB streamed response arrives intact', async () => {
    const body = Buffer.from(await (await fetch(url('/yourapplication/bytes/5000000'))).arrayBuffer());
    expect(body.length).toBe(5_000_000);
    expect(body.every((byte, i) => byte === i % 251)).toBe(true);
  });

  it('an app error is the gateway 500, and its stack reaches nginx\'s error log through FCGI_STDERR', async () => {
    const response = await fetch(url('/yourapplication/error'));
    expect(response.status).toBe(500);
    expect(await response.text()).toBe('500 Internal Server Error\n');
    await waitFor(async () => /FastCGI sent in stderr: "tsgi: GET \/yourapplication\/error: Error: fixture failure for FCGI_STDERR/.test(nginx.errorLog()), 'stderr in error.log');
  });
});

describe('nginx keep-alive to FastCGI (fastcgi_keep_conn on)', () => {
  it('reuses one FastCGI connection for sequential requests', async () => {
    const before = fastcgiConnections;
    for (let i = 0; i < 10; i++) expect((await fetch(`http://127.0.0.1:${ownPort}/yourapplication/hello`)).status).toBe(200);
    expect(fastcgiConnections - before).toBeLessThanOrEqual(1);
    expect(server.connections).toBeGreaterThanOrEqual(1);
  });

  it('the spawn-fcgi app is one long-lived process', async () => {
    const pids = new Set<string>();
    for (let i = 0; i < 5; i++) pids.add(await (await fetch(`http://127.0.0.1:${spawnedPort}/yourapplication/pid`)).text());
    expect(pids.size).toBe(1);
    expect([...pids][0]).toBe(`${spawned.pid}\n`);
  });

  it('the spawn-fcgi app exits cleanly on SIGTERM, as mod_fcgid and lighttpd stop it', async () => {
    spawned.kill('SIGTERM');
    expect(await spawnedExit).toBe(0);
    expect(spawnedStderr).not.toMatch(/Error/);
  });
});
