/**
 * Every row of the settings table, on every transport it names, takes effect:
 * the real `tsgi` command is started with the setting and the behaviour it
 * controls is observed from outside (a socket's mode with stat, a 504, a 413,
 * a refused connection, a dropped in-flight request at the graceful deadline).
 * The test list is generated from the table, so a new row without a check fails.
 */
import { readFileSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { Agent, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { FastCgiClient } from '../../gateway/fastcgi/client.ts';
import { FCGI_OVERLOADED } from '../../gateway/fastcgi/protocol.ts';
import { SETTINGS, scopesOf, type Scope } from '../../gateway/settings.ts';
import { cgiParams } from '../fixtures/fastcgi-params.ts';
import { runCgiScript } from '../fixtures/run-cgi.ts';
import { fastCgiOverUnix, httpOverUnix, SETTINGS_APP, TSGI, TsgiProcess, type Answer, type RequestSpec } from '../fixtures/tsgi-process.ts';

const dir = mkdtempSync(join(tmpdir(), 'tsgi-settings-'));
let sockets = 0;
const running: TsgiProcess[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((proc) => proc.kill()));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Target {
  request(path: string, spec?: RequestSpec): Promise<Answer>;
  /** The server process (none for CGI: one process per request). */
  proc?: TsgiProcess;
  socket?: string;
}

function cgiEnviron(path: string, spec: RequestSpec): Record<string, string> {
  const environ: Record<string, string> = { ...cgiParams(path, { REQUEST_METHOD: spec.method ?? 'GET' }) };
  if (spec.body !== undefined) environ.CONTENT_LENGTH = String(Buffer.byteLength(spec.body));
  for (const [name, value] of Object.entries(spec.headers ?? {})) environ[`HTTP_${name.toUpperCase().replaceAll('-', '_')}`] = value;
  return environ;
}

/** `tsgi <transport>` for one scope with `flags`, ready to answer. */
async function start(scope: Scope, flags: string[] = []): Promise<Target> {
  if (scope === 'cgi') {
    return {
      request: async (path, spec = {}) => {
        const result = await runCgiScript([TSGI, 'cgi', SETTINGS_APP, ...flags], cgiEnviron(path, spec), spec.body ?? '');
        return { status: result.status, headers: Object.fromEntries(result.headers), body: result.body.toString('utf8') };
      },
    };
  }
  const socket = join(dir, `s${sockets++}.sock`);
  const transport = scope === 'fastcgi' ? 'fastcgi' : 'http';
  const workers = scope === 'http' ? ['--workers', '0'] : scope === 'prefork' && !flags.includes('--workers') ? ['--workers', '1'] : [];
  const proc = new TsgiProcess([transport, SETTINGS_APP, '--bind', `unix:${socket}`, ...workers, ...flags]);
  running.push(proc);
  if (scope === 'fastcgi') await proc.waitFor(/tsgi: FastCGI on/);
  else if (scope === 'http') await proc.waitFor(/tsgi: HTTP on/);
  else await proc.waitFor(/worker \d+ listening/);
  const request = scope === 'fastcgi' ? fastCgiOverUnix : httpOverUnix;
  return { request: (path, spec) => request(socket, path, spec), proc, socket };
}

/** The socket's permission bits; the pre-fork master sets them just after its first worker listens. */
async function modeOf(socket: string, expected: number): Promise<number> {
  const deadline = Date.now() + 5000;
  let mode = statSync(socket).mode & 0o777;
  while (mode !== expected && Date.now() < deadline) {
    await sleep(20);
    mode = statSync(socket).mode & 0o777;
  }
  return mode;
}

/** A slow request in flight, SIGTERM, and what became of both, for the graceful-timeout checks. */
async function stopWithRequestInFlight(target: Target, slowMs: number): Promise<{ answer: Answer | Error; exit: number | null; refusedMeanwhile: boolean }> {
  const inFlight = target.request(`/slow?ms=${slowMs}`).catch((error: Error) => error);
  // The request has reached the app well before this (a local socket, an idle server).
  await sleep(300);
  target.proc!.signal('SIGTERM');
  await sleep(100);
  // Stopped accepting: a new connection is refused while the old request still runs.
  const refusedMeanwhile = await target.request('/pid').then(() => false, () => true);
  const answer = await inFlight;
  return { answer, exit: await target.proc!.exited, refusedMeanwhile };
}

type Check = (scope: Scope) => Promise<void>;

const checks: Record<string, Check> = {
  async bind(scope) {
    const target = await start(scope);
    expect((await target.request('/pid')).status).toBe(200);
  },

  async 'socket-mode'(scope) {
    const byDefault = await start(scope);
    expect(await modeOf(byDefault.socket!, 0o660)).toBe(0o660);
    const given = await start(scope, ['--socket-mode', '600']);
    expect(await modeOf(given.socket!, 0o600)).toBe(0o600);
  },

  async workers(scope) {
    if (scope === 'http') {
      const target = await start('http');
      // One process: the pid that answers is the one we started, and there is no master.
      expect((await target.request('/pid')).body.trim()).toBe(String(target.proc!.child.pid));
      expect(target.proc!.stderr).not.toMatch(/tsgi master/);
      return;
    }
    const target = await start('prefork', ['--workers', '2']);
    const pids = (await target.proc!.waitFor(/worker (\d+) listening/, 2)).map((m) => m[1]);
    expect(new Set(pids).size).toBe(2);
  },

  async 'max-requests'() {
    const target = await start('prefork', ['--max-requests', '2']);
    await target.request('/pid');
    await target.request('/pid');
    await target.proc!.waitFor(/worker \d+ served 2 requests \(max-requests\), replacing it/);
    await target.proc!.waitFor(/worker \d+ listening/, 2);
  },

  async 'max-requests-jitter'() {
    // With jitter 0..10^6 on top of 1, a worker retired after exactly 1 request has a one-in-a-million chance.
    const target = await start('prefork', ['--max-requests', '1', '--max-requests-jitter', '1000000']);
    const pid = (await target.request('/pid')).body.trim();
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').find((entry) => entry.startsWith('TSGI_PREFORK_WORKER='))!;
    const { maxRequests } = JSON.parse(environ.slice('TSGI_PREFORK_WORKER='.length)) as { maxRequests: number };
    expect(maxRequests).toBeGreaterThan(1);
    expect(maxRequests).toBeLessThanOrEqual(1_000_001);
  },

  async timeout(scope) {
    const target = await start(scope, ['--timeout', '0.5']);
    const answer = await target.request('/slow?ms=3000');
    expect(answer.status).toBe(504);
    expect(answer.body).toBe('504 Gateway Timeout\n');
  },

  async 'graceful-timeout'(scope) {
    const target = await start(scope, ['--graceful-timeout', '1']);
    const { answer, exit, refusedMeanwhile } = await stopWithRequestInFlight(target, 6000);
    expect(refusedMeanwhile).toBe(true);
    // Dropped at the 1 s deadline, long before the app would have answered.
    expect(answer).toBeInstanceOf(Error);
    // (A pre-fork worker's own deadline is a little earlier, so that it, not the master's SIGKILL, ends it.)
    expect(target.proc!.stderr).toMatch(/(http|fastcgi): shutdown timeout \(graceful-timeout (1|0\.9) s\): dropping 1 connection/);
    // One process exits 1 when it had to drop requests; the pre-fork master reports its own stop (0).
    expect(exit).toBe(scope === 'prefork' ? 0 : 1);
  },

  async 'body-limit'(scope) {
    const target = await start(scope, ['--body-limit', '10']);
    const fits = await target.request('/echo', { method: 'POST', body: '0123456789' });
    expect(fits.status).toBe(200);
    expect(JSON.parse(fits.body).bodyLength).toBe(10);
    const over = await target.request('/echo', { method: 'POST', body: '0123456789A' });
    expect(over.status).toBe(413);
  },

  async 'trust-proxy'(scope) {
    const headers = { 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https' };
    const untrusted = await start(scope);
    expect(JSON.parse((await untrusted.request('/echo', { headers })).body)).toMatchObject({ scheme: 'http' });
    expect(JSON.parse((await untrusted.request('/echo', { headers })).body).remoteAddr).not.toBe('203.0.113.9');
    const trusted = await start(scope, ['--trust-proxy', 'for=1,proto=1']);
    expect(JSON.parse((await trusted.request('/echo', { headers })).body)).toMatchObject({ remoteAddr: '203.0.113.9', scheme: 'https' });
  },

  async 'hide-mount'(scope) {
    // The mount arrives as X-Forwarded-Prefix (trusted), the same way on every transport;
    // the path is the full one, as our nginx passes it (proxy-fix.ts).
    const headers = { 'x-forwarded-prefix': '/team-1/app.v2' };
    const shown = await start(scope, ['--trust-proxy', 'prefix=1']);
    const asIs = await shown.request('/team-1/app.v2/url', { headers });
    expect(JSON.parse(asIs.body)).toMatchObject({ url: 'http://localhost/team-1/app.v2/url', scriptName: '/team-1/app.v2' });
    expect(asIs.headers.location).toBe('/team-1/app.v2/url?again');
    const hidden = await start(scope, ['--trust-proxy', 'prefix=1', '--hide-mount']);
    const answer = await hidden.request('/team-1/app.v2/url', { headers });
    expect(JSON.parse(answer.body)).toMatchObject({ url: 'http://localhost/url', scriptName: '/team-1/app.v2' });
    // What the app sends back is mapped into the mount.
    expect(answer.headers.location).toBe('/team-1/app.v2/url?again');
  },

  async 'max-conns'() {
    const target = await start('fastcgi', ['--max-conns', '1']);
    const first = await FastCgiClient.connect({ path: target.socket! });
    const second = await FastCgiClient.connect({ path: target.socket! });
    // Over the limit the server closes the new connection at once, sending nothing.
    await second.closed;
    expect(second.received).toEqual([]);
    first.getValues(['FCGI_MAX_CONNS']);
    expect((await first.getValuesResult()).get('FCGI_MAX_CONNS')).toBe('1');
    first.socket.destroy();
  },

  async 'max-reqs'() {
    const target = await start('fastcgi', ['--max-reqs', '1']);
    const busy = await FastCgiClient.connect({ path: target.socket! });
    busy.begin(1);
    busy.params(1, cgiParams('/slow?ms=1500'));
    busy.stdin(1, Buffer.alloc(0), true);
    await sleep(200);
    const other = await FastCgiClient.connect({ path: target.socket! });
    other.begin(1);
    other.params(1, cgiParams('/pid'));
    other.stdin(1, Buffer.alloc(0), true);
    expect((await other.result(1)).protocolStatus).toBe(FCGI_OVERLOADED);
    expect((await busy.result(1)).protocolStatus).toBe(0);
    busy.socket.destroy();
    other.socket.destroy();
  },
};

describe('every setting takes effect on every transport it names (the real tsgi command)', () => {
  for (const row of SETTINGS) {
    for (const scope of scopesOf(row)) {
      it(`--${row.flag} on ${scope}`, async () => {
        const check = checks[row.flag];
        if (!check) throw new Error(`no check for --${row.flag}: add one to tests/unit/settings.test.ts`);
        await check(scope);
      }, 30_000);
    }
  }

  it('a config file sets the same settings, and the command line overrides it', async () => {
    const file = join(dir, 'tsgi.conf');
    writeFileSync(file, '# settings for the test\nbody-limit = 10\ntimeout = 0.5\n');
    const target = await start('fastcgi', ['--config', file, '--timeout', '20']);
    expect((await target.request('/echo', { method: 'POST', body: '0123456789A' })).status).toBe(413);
    expect((await target.request('/slow?ms=800')).status).toBe(200);
  });
});

describe('graceful stop, each transport, with a real request in flight', () => {
  for (const scope of ['fastcgi', 'http', 'prefork'] as const) {
    it(`${scope}: stops accepting, lets the request finish, exits 0`, async () => {
      const target = await start(scope, ['--graceful-timeout', '20']);
      const { answer, exit, refusedMeanwhile } = await stopWithRequestInFlight(target, 1500);
      expect(refusedMeanwhile).toBe(true);
      expect(answer).not.toBeInstanceOf(Error);
      expect((answer as Answer).status).toBe(200);
      expect((answer as Answer).body).toBe('slept 1500 ms\n');
      expect(exit).toBe(0);
      if (scope === 'prefork') expect(target.proc!.stderr).toMatch(/worker \d+ exited \(code 0\)/);
    }, 30_000);
  }

  for (const scope of ['http', 'prefork'] as const) {
    it(`${scope}: a request on an idle keep-alive connection during the stop is served, with Connection: close`, async () => {
      const target = await start(scope, ['--graceful-timeout', '20']);
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const get = () => new Promise<{ status: number; connection: string | undefined; body: string }>((resolve, reject) => {
        const req = httpRequest({ socketPath: target.socket!, path: '/pid', agent, headers: { host: 'localhost' } }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => { body += chunk; });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body }));
        });
        req.on('error', reject);
        req.end();
      });
      const first = await get();
      expect(first.connection).toBe('keep-alive');
      // The connection now sits idle in the agent's pool, as in nginx's upstream keepalive pool.
      target.proc!.signal('SIGTERM');
      await sleep(100);
      const during = await get();
      expect(during.status).toBe(200);
      expect(during.body).toBe(first.body);
      expect(during.connection).toBe('close');
      // Nothing was dropped: the stop ended well before its 20 s deadline.
      expect(await target.proc!.exited).toBe(0);
      agent.destroy();
    }, 30_000);
  }

  for (const scope of ['fastcgi', 'http', 'prefork'] as const) {
    it(`${scope}: an idle keep-alive connection is closed by the stop, which then exits 0 without waiting for the deadline`, async () => {
      const target = await start(scope, ['--graceful-timeout', '20']);
      const idle = await idleConnection(scope, target.socket!);
      target.proc!.signal('SIGTERM');
      await idle.closed;
      expect(await target.proc!.exited).toBe(0);
    }, 30_000);
  }
});

/** An open connection that has carried one request and now sits idle, kept alive. */
async function idleConnection(scope: Scope, socket: string): Promise<{ closed: Promise<void> }> {
  if (scope === 'fastcgi') {
    const client = await FastCgiClient.connect({ path: socket });
    client.begin(1, { keepConn: true });
    client.params(1, cgiParams('/pid'));
    client.stdin(1, Buffer.alloc(0), true);
    await client.result(1);
    return client;
  }
  const raw = connect({ path: socket });
  await once(raw, 'connect');
  let seen = '';
  const answered = new Promise<void>((resolve) => raw.on('data', (chunk: Buffer) => {
    seen += chunk.toString('latin1');
    if (/\r\n\r\n[0-9]+\n$/.test(seen)) resolve();
  }));
  raw.write('GET /pid HTTP/1.1\r\nHost: localhost\r\n\r\n');
  await answered;
  return { closed: once(raw, 'close').then(() => {}) };
}
