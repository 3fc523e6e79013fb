/**
 * The HTTP request policy (docs/http-policy.md) in every mode, at both
 * mounts: each case of policy-corpus.ts is sent as raw bytes on a connection
 * the client keeps open, followed by a probe request. Per case:
 *   - correct: every mode gives the policy's answer: a refusal with the fixed
 *     error text and the connection closed; an accepted request with exactly
 *     what the app must have seen, and the connection kept;
 *     after a kept connection the only thing that comes back is the probe's
 *     answer (nothing read from the leftovers as a request of its own);
 *   - identical: the five answers are the same (status, content type, body,
 *     closed or not).
 */
import { createHash } from 'node:crypto';
import { describe, expect, inject, test } from 'vitest';
import { errorText } from './contract.ts';
import { MOUNTS, mountLabel, type Mode, type Mount } from './matrix.ts';
import { POLICY_CORPUS, type PolicyCase } from './policy-corpus.ts';
import { exchange, header, parseResponse, type Exchange } from './raw-http.ts';

const targets = inject('integrationTargets');
const missing = inject('integrationMissing');

type Outcome = { mode: Mode; x?: Exchange; error?: Error };

function bytes(c: PolicyCase, mount: Mount): Buffer {
  return Buffer.from(c.request.replaceAll('{M}', mount), 'latin1');
}

const memo = new Map<string, Promise<Outcome[]>>();
function answers(c: PolicyCase, mount: Mount): Promise<Outcome[]> {
  const key = `${mount}\0${c.name}`;
  let entry = memo.get(key);
  if (!entry) {
    const probe = Buffer.from(`GET ${mount}/hello HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n`, 'latin1');
    const method = c.request.slice(0, c.request.indexOf(' '));
    const here = targets.filter((t) => t.mount === mount);
    entry = Promise.all([
      ...here.map((t) => exchange(bytes(c, mount), probe, { port: t.port, method, timeoutMs: 20_000 })
        .then((x): Outcome => ({ mode: t.mode, x }), (error: unknown): Outcome => ({ mode: t.mode, error: error as Error }))),
      ...missing.filter((t) => t.mount === mount).map((t): Outcome => ({ mode: t.mode, error: new Error(t.reason.split('\n')[0]) })),
    ]);
    memo.set(key, entry);
  }
  return entry;
}

function sha256(text: string): string {
  return createHash('sha256').update(Buffer.from(text, 'latin1')).digest('hex');
}

function check(c: PolicyCase, mount: Mount, x: Exchange): void {
  const res = x.response;
  expect(res.problems, 'framing problems').toEqual([]);
  const closed = x.after === 'closed';
  if (c.expect.status !== 200) {
    expect({ status: res.status, body: res.body.toString('latin1'), closed }).toEqual({ status: c.expect.status, body: errorText(c.expect.status), closed: true });
    expect(header(res, 'content-type') ?? '').toMatch(/^text\/plain\b/);
    return;
  }
  const want = c.expect;
  const echo = JSON.parse(res.body.toString('utf8')) as Record<string, unknown>;
  const body = want.body ?? '';
  expect({ status: res.status, contentType: header(res, 'content-type') }).toEqual({ status: 200, contentType: 'application/json' });
  expect({
    method: echo.method, scriptName: echo.scriptName, pathInfo: echo.pathInfo, rawPath: echo.rawPath, query: echo.query,
    headers: echo.headers, body: echo.body,
  }).toEqual({
    method: want.method, scriptName: mount, pathInfo: want.pathInfo ?? '/echo', rawPath: want.rawPath.replaceAll('{M}', mount), query: want.query ?? '',
    headers: want.headers, body: { length: Buffer.byteLength(body, 'latin1'), sha256: sha256(body) },
  });
  if (want.closes) {
    expect(closed, 'the connection is closed after the answer').toBe(true);
    return;
  }
  expect(closed, 'the connection stays open').toBe(false);
  // Exactly one answer after it: the probe's. Anything else was read from the request's leftovers.
  const after = parseResponse('GET', x.after as Buffer);
  expect({ status: after.status, body: after.body.toString('latin1'), problems: after.problems }, 'the probe\'s answer, and nothing else')
    .toEqual({ status: 200, body: 'Hello, World!\n', problems: [] });
}

/** What must be equal across modes: status, content type, body, and whether the connection was kept. */
function fingerprint(x: Exchange): string {
  const kept = x.after !== 'closed';
  return JSON.stringify([x.response.status, header(x.response, 'content-type'), x.response.body.toString('latin1'), kept]);
}

describe.each(POLICY_CORPUS.map((c) => [`${c.name} (${c.rfc})`, c] as const))('policy: %s', (_name, c) => {
  for (const mount of MOUNTS) {
    test(`the policy's answer in every mode (${mountLabel(mount)})`, async () => {
      const problems: string[] = [];
      for (const { mode, x, error } of await answers(c, mount)) {
        if (!x) { problems.push(`[${mode}] request failed: ${error?.message}`); continue; }
        try { check(c, mount, x); } catch (e) { problems.push(`[${mode}] ${(e as Error).message.split('\n').slice(0, 12).join('\n      ')}`); }
      }
      if (problems.length > 0) throw new Error(problems.join('\n'));
    });

    test(`identical in every mode (${mountLabel(mount)})`, async () => {
      const groups = new Map<string, Mode[]>();
      for (const { mode, x, error } of await answers(c, mount)) {
        const fp = x ? fingerprint(x) : `failed: ${error?.message}`;
        groups.set(fp, [...(groups.get(fp) ?? []), mode]);
      }
      if (groups.size > 1) {
        throw new Error(`the modes disagree:\n${[...groups].map(([fp, modes]) => `  [${modes.join(', ')}]: ${fp.slice(0, 300)}`).join('\n')}`);
      }
    });
  }
});

test('the policy corpus has at least 60 cases, each with an RFC reference and a unique name', () => {
  expect(POLICY_CORPUS.length).toBeGreaterThanOrEqual(60);
  expect(new Set(POLICY_CORPUS.map((c) => c.name)).size).toBe(POLICY_CORPUS.length);
  for (const c of POLICY_CORPUS) expect(c.rfc, c.name).toMatch(/RFC \d+|docs\//);
});
