/**
 * What the corpus can't show, per container: the mode-specific /whoami, the
 * image's health check, the app not running as root, the stack trace of a
 * failing handler in `docker logs`, that streamed bodies really stream, that
 * HEAD answers the GET's headers, that concurrent requests don't mix, and
 * that the app timeout is the same 504 everywhere.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, inject, test } from 'vitest';
import { errorText, expectEcho, expectText, TEXT_PLAIN, type Sent } from './contract.ts';
import { HOST, requestFor, type Case } from './corpus.ts';
import { containerLogs, containerProcesses, healthStatus, networkGateway } from './docker.ts';
import { MODES, MOUNTS, mountLabel, selectedModes, type Target } from './matrix.ts';
import { normalize } from './normalize.ts';
import { header, send, type RawResponse } from './raw-http.ts';

const targets = [...inject('integrationTargets')].sort((a, b) => MODES.indexOf(a.mode) - MODES.indexOf(b.mode));
const label = (t: Target) => `${t.mode}, ${mountLabel(t.mount)}`;

function get(t: Target, path: string, method = 'GET'): Promise<RawResponse> {
  return send({ method, target: `${t.mount}${path}`, headers: [['Host', HOST]] }, { port: t.port });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The app's processes: every Node process (CGI script, FastCGI server, pre-fork master and workers). */
const isAppProcess = (cmdline: string) => /^(?:\S*\/)?node(?:\s|$)/.test(cmdline);

describe.each(targets.map((t) => [label(t), t] as const))('%s', (_label, t) => {
  test('/whoami names this mode', async () => {
    const res = await get(t, '/whoami');
    expect(res.status).toBe(200);
    expect(header(res, 'content-type')).toBe('application/json');
    const facts = JSON.parse(res.body.toString('utf8')) as Record<string, unknown>;
    expect(facts).toMatchObject({ mode: t.mode, pid: expect.any(Number), requests: expect.any(Number), serverSoftware: expect.any(String) });
    expect(facts.serverSoftware, 'SERVER_SOFTWARE reaches the app').not.toBe('');
    expect({ scriptName: facts.scriptName, pathInfo: facts.pathInfo }, 'SCRIPT_NAME and PATH_INFO as the app saw them').toEqual({ scriptName: t.mount, pathInfo: '/whoami' });
  });

  test('the image health check reports healthy', async () => {
    let status = await healthStatus(t.containerId);
    for (let waited = 0; status === 'starting' && waited < 90_000; waited += 1_000) {
      await sleep(1_000);
      status = await healthStatus(t.containerId);
    }
    expect(status, 'docker inspect .State.Health.Status ("none": the image has no HEALTHCHECK)').toBe('healthy');
  });

  test('the app does not run as root', async () => {
    // A slow request keeps the app alive long enough to look at it (a CGI process lives for one request).
    const pending = get(t, '/slow?ms=2500');
    await sleep(1_000);
    const processes = await containerProcesses(t.containerId);
    await pending;
    const app = processes.filter((p) => isAppProcess(p.cmdline));
    expect(app.length, `no app process among: ${JSON.stringify(processes)}`).toBeGreaterThan(0);
    expect(app.filter((p) => p.uid === 0), 'app processes running as root').toEqual([]);
  });

  // A CGI process serves one request and exits: its allocator's arenas never matter.
  test.skipIf(t.mode === 'apache-cgi')('the app processes cap glibc\'s malloc arenas (MALLOC_ARENA_MAX=2)', async () => {
    const app = (await containerProcesses(t.containerId)).filter((p) => isAppProcess(p.cmdline));
    expect(app.length, 'app processes').toBeGreaterThan(0);
    expect(app.map((p) => ({ cmdline: p.cmdline, arenas: p.environ?.find((line) => line.startsWith('MALLOC_ARENA_MAX=')) ?? null })))
      .toEqual(app.map((p) => ({ cmdline: p.cmdline, arenas: 'MALLOC_ARENA_MAX=2' })));
  });

  // The app processes keep Linux's default scheduling policy in every mode. In
  // apache-fcgid Apache runs SCHED_BATCH, so that its threads' wake-ups do not
  // preempt the app processes (images/Dockerfile, stage apache-fcgid); the app
  // inherits that from Apache and its shebang sets SCHED_OTHER again.
  test('the app processes run under SCHED_OTHER; in apache-fcgid, Apache under SCHED_BATCH', async () => {
    const processes = await containerProcesses(t.containerId);
    const app = processes.filter((p) => isAppProcess(p.cmdline));
    if (t.mode !== 'apache-cgi') expect(app.length, 'app processes').toBeGreaterThan(0);
    expect(app.map((p) => ({ cmdline: p.cmdline, policy: p.policy }))).toEqual(app.map((p) => ({ cmdline: p.cmdline, policy: 0 })));
    const apache = processes.filter((p) => /^(?:\S*\/)?apache2\b/.test(p.cmdline));
    if (t.mode === 'apache-fcgid') {
      expect(apache.length, 'Apache processes').toBeGreaterThan(0);
      expect(apache.map((p) => p.policy)).toEqual(apache.map(() => 3));
    }
  });

  test('a failing handler\'s stack trace is in docker logs, the client gets the fixed 500', async () => {
    const marker = randomUUID();
    const res = await get(t, `/error?marker=${marker}`);
    expectText(res, 500, errorText(500));
    expect(res.body.toString('utf8')).not.toContain('this handler throws');
    let logs = '';
    for (let waited = 0; waited < 10_000; waited += 500) {
      logs = await containerLogs(t.containerId);
      if (logs.includes(marker) && /this handler throws on purpose[\s\S]*\bat\b/.test(logs.slice(logs.indexOf(marker)))) break;
      await sleep(500);
    }
    const after = logs.includes(marker) ? logs.slice(logs.indexOf(marker)) : '';
    expect(after, `docker logs has no line with ${marker}`).not.toBe('');
    expect(after).toContain('this handler throws on purpose');
    expect(after, 'the stack trace (an "at ..." frame) follows the error').toMatch(/this handler throws on purpose[\s\S]*\n.*\bat .+/);
  });

  test('a streamed body arrives as it is produced, not buffered to the end', async () => {
    // 60 chunks, 10 ms apart: about 600 ms from the first chunk to the last.
    const res = await get(t, '/stream?chunks=60');
    expect(res.status).toBe(200);
    expect(res.body.toString('utf8').split('\n')).toHaveLength(61);
    expect(res.firstBodyByteMs, 'a first body byte arrived').toBeDefined();
    const spread = res.totalMs - res.firstBodyByteMs!;
    expect(spread, `first byte at ${res.firstBodyByteMs!.toFixed(0)} ms, end at ${res.totalMs.toFixed(0)} ms`).toBeGreaterThan(300);
  });

  test('HEAD answers the GET\'s status and headers, without a body', async () => {
    const problems: string[] = [];
    for (const path of ['/hello', '/cookies', '/redirect?to=/x', '/bytes/1000', '/stream?chunks=3', '/status/418', '/status/204', '/error', '/nope', '/']) {
      const [g, h] = [await get(t, path), await get(t, path, 'HEAD')];
      const [gn, hn] = [normalize(g), normalize(h)];
      if (gn.status !== hn.status) problems.push(`${path}: GET ${gn.status}, HEAD ${hn.status}`);
      if (JSON.stringify(gn.headers) !== JSON.stringify(hn.headers)) problems.push(`${path}: GET headers ${JSON.stringify(gn.headers)}\n    HEAD headers ${JSON.stringify(hn.headers)}`);
      if (h.body.length !== 0 || h.problems.length !== 0) problems.push(`${path}: HEAD body ${h.body.length} bytes, ${h.problems.join('; ')}`);
      const length = header(h, 'content-length');
      if (length !== undefined && path !== '/' && Number(length) !== g.body.length) problems.push(`${path}: HEAD Content-Length ${length}, GET body ${g.body.length} bytes`);
    }
    expect(problems).toEqual([]);
  });

  test('remoteAddr is the peer the container sees, whatever X-Forwarded-For says', async () => {
    // Published ports reach the container from its network's gateway address (docker-proxy or NAT).
    const gateway = await networkGateway(t.containerId);
    const res = await send({ method: 'GET', target: `${t.mount}/echo`, headers: [['Host', HOST], ['X-Forwarded-For', '6.6.6.6']] }, { port: t.port });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString('utf8')).remoteAddr).toBe(gateway);
  });

  test('concurrent requests each get their own answer', async () => {
    const cases: Case[] = Array.from({ length: 12 }, (_, i) => ({
      name: `concurrent ${i}`,
      method: i % 2 ? 'POST' : 'GET',
      path: `/echo/n${i}?i=${i}`,
      headers: [['X-Request', `r${i}`]],
      ...(i % 2 ? { body: Buffer.from(`body of request ${i}\n`.repeat(i * 100)) } : {}),
      expect: () => {},
    }));
    const results = await Promise.all(cases.map(async (c) => {
      const { raw, sent } = requestFor(c, t.mount);
      return { sent, res: await send(raw, { port: t.port }) };
    }));
    for (const { sent, res } of results) expectEcho(res, sent as Sent, { pathInfo: sent.targetText.slice(t.mount.length).split('?')[0]! });
  });
});

describe('every container started', () => {
  test.each(selectedModes().flatMap((mode) => MOUNTS.map((mount) => [`${mode}, ${mountLabel(mount)}`, mode, mount] as const)))('%s', (_label, mode, mount) => {
    const missing = inject('integrationMissing').find((m) => m.mode === mode && m.mount === mount);
    if (missing) throw new Error(missing.reason);
    expect(targets.some((t) => t.mode === mode && t.mount === mount)).toBe(true);
  });
});

describe('the app timeout', () => {
  test('an app slower than 30 s gets the same 504 in every mode', { timeout: 90_000 }, async () => {
    const results = await Promise.all(targets.map(async (t) => ({ t, res: await send(
      { method: 'GET', target: `${t.mount}/slow?ms=40000`, headers: [['Host', HOST]] }, { port: t.port, timeoutMs: 80_000 },
    ).catch((error: unknown) => error as Error) })));
    const problems: string[] = [];
    for (const { t, res } of results) {
      if (res instanceof Error) { problems.push(`[${label(t)}] ${res.message}`); continue; }
      const got = { status: res.status, contentType: header(res, 'content-type'), body: res.body.toString('utf8'), problems: res.problems };
      const want = { status: 504, contentType: TEXT_PLAIN, body: errorText(504), problems: [] };
      if (JSON.stringify(got) !== JSON.stringify(want)) problems.push(`[${label(t)}] ${JSON.stringify(got)} after ${(res.totalMs / 1000).toFixed(1)} s`);
    }
    expect(problems, `want 504 ${JSON.stringify(errorText(504))} (${TEXT_PLAIN})`).toEqual([]);
  });
});

describe('slow requests do not hold up a quick one', () => {
  // 4 requests that sleep 5 s are in flight when /hello comes. Every mode has
  // room for it beside them: apache-cgi starts a process per request, nginx
  // and lighttpd give an app process as many requests as they have, and in
  // apache-fcgid mod_fcgid gives each of the 2 processes up to 4 at a time
  // (FcgidProcessConcurrency, configs/apache/fcgid.conf; stock mod_fcgid gives
  // one, and /hello would wait in line behind the sleepers).
  const roots = targets.filter((t) => t.mount === '');
  test.skipIf(roots.length === 0)('/hello answers within 2.5 s while 4 requests sleep 5 s', { timeout: 60_000 }, async () => {
    const problems: string[] = [];
    await Promise.all(roots.map(async (t) => {
      const sleepers = Array.from({ length: 4 }, () => get(t, '/slow?ms=5000'));
      await sleep(500);
      const started = Date.now();
      const quick = await get(t, '/hello');
      const ms = Date.now() - started;
      if (quick.status !== 200 || ms > 2_500) problems.push(`[${label(t)}] /hello: ${quick.status} after ${ms} ms`);
      for (const res of await Promise.all(sleepers)) {
        if (res.status !== 200) problems.push(`[${label(t)}] /slow: ${res.status} ${res.body.toString('utf8').slice(0, 80)}`);
      }
    }));
    expect(problems).toEqual([]);
  });
});

describe('access logs that keep up', () => {
  // Every mode batches its access log under load so that Docker's log
  // pipeline is not woken once per request (configs/README.md, "Runtime": a
  // line waits at most 0.2 s in Apache, 1 s in nginx, 4 s in lighttpd).
  // Batching must not cost lines, and a request on a quiet server must show
  // up within that time, not only when a buffer fills (Apache's BufferedLogs
  // would hold it for dozens of requests).
  const roots = targets.filter((t) => t.mount === '');
  const BURST = 200;
  const linesWith = (logs: string, marker: string) => new Set([...logs.matchAll(new RegExp(`GET /hello\\?log=${marker}&i=(\\w+)`, 'g'))].map((m) => m[1]));
  test.skipIf(roots.length === 0)(`a lone request's line shows within 6 s; a burst of ${BURST} leaves ${BURST} lines`, { timeout: 60_000 }, async () => {
    const problems: string[] = [];
    await Promise.all(roots.map(async (t) => {
      const marker = randomUUID().replaceAll('-', '');
      const waitForLines = async (count: number, ms: number) => {
        let seen = new Set<string>();
        for (let waited = 0; waited <= ms; waited += 250) {
          seen = linesWith(await containerLogs(t.containerId), marker);
          if (seen.size >= count) break;
          await sleep(250);
        }
        return seen;
      };
      expect((await get(t, `/hello?log=${marker}&i=lone`)).status).toBe(200);
      const lone = await waitForLines(1, 6_000);
      if (!lone.has('lone')) problems.push(`${t.mode}: no access-log line for a lone request after 6 s`);
      for (let i = 0; i < BURST; i += 8) {
        await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map((j) => get(t, `/hello?log=${marker}&i=${i + j}`)));
      }
      const burst = await waitForLines(BURST + 1, 8_000);
      if (burst.size !== BURST + 1) problems.push(`${t.mode}: ${burst.size - 1} of ${BURST} burst lines in docker logs after 8 s`);
    }));
    expect(problems).toEqual([]);
  });
});

describe('logs that cannot be flooded', () => {
  // Each mode at the root mount, all at once: a burst of failing requests
  // writes a bounded number of stack traces, then a line with how many more
  // came. The gateway's logger limits each app process (10 per 10 s); under
  // CGI every request is a new process, so there Apache's ErrorLog filter
  // (configs/apache/error-log-limit.awk) does it. Runs last in this file: it
  // uses up the containers' budgets, which the stack-trace test above needs.
  const BURST = 60;
  const roots = targets.filter((t) => t.mount === '');
  test.skipIf(roots.length === 0)('60 failing requests: at most 10 stack traces per app process and 10 s, then "... and N more like it"', { timeout: 120_000 }, async () => {
    const problems: string[] = [];
    await Promise.all(roots.map(async (t) => {
      const burst = randomUUID();
      const start = (await containerLogs(t.containerId)).length;
      const began = Date.now();
      for (let i = 0; i < BURST; i += 4) {
        await Promise.all([0, 1, 2, 3].map((j) => get(t, `/error?burst=${burst}&i=${i + j}`)));
      }
      // Other test files may fail requests here too, so a window can close
      // during the burst: it meets at most this many windows of 10 s.
      const windows = Math.floor((Date.now() - began) / 10_000) + 2;
      // After the window closes, one more: the summary comes by then (the
      // gateway's on a timer, Apache's filter with the next line it sees).
      await sleep(11_000);
      await get(t, `/error?burst=${burst}&after`);
      let logs = '';
      for (let waited = 0; waited < 10_000; waited += 500) {
        logs = (await containerLogs(t.containerId)).slice(start);
        if (logs.includes(`burst=${burst}&after`) && /more like it in the last \d+ s/.test(logs)) break;
        await sleep(500);
      }
      const traces = logs.split('\n').filter((line) => line.includes(`burst=${burst}&i=`) && line.includes('this handler throws on purpose')).length;
      const processes = t.mode === 'apache-cgi' ? 1 : 2;
      const most = Math.min(10 * processes * windows, BURST - 1);
      if (traces < 1 || traces > most) problems.push(`${t.mode}: ${traces} of ${BURST} errors logged (expected 1..${most})`);
      const sums = [...logs.matchAll(/\.\.\. and (\d+) more like it in the last \d+ s/g)].map((m) => Number(m[1]));
      if (sums.length === 0 || sums.every((n) => n < 1)) problems.push(`${t.mode}: no "... and N more like it" line after the burst:\n${logs.slice(-2000)}`);
    }));
    expect(problems).toEqual([]);
  });
});
