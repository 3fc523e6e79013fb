/**
 * What a correct answer is (docs/design.md#52-correct), computed from the
 * request alone by the route contract (docs/design.md#3-the-route-contract),
 * never copied from a server's output: five servers giving the
 * same wrong answer must still fail.
 */
import { createHash } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import { isIP } from 'node:net';
import { expect } from 'vitest';
import type { Mount } from './matrix.ts';
import { header, headerValues, type HeaderPairs, type RawResponse } from './raw-http.ts';

export const TEXT_PLAIN = 'text/plain; charset=utf-8';
export const BODY_LIMIT = 2 * 1024 * 1024;

/** What was actually sent, for computing expectations. */
export interface Sent {
  mount: Mount;
  method: string;
  /** The request target's bytes, and the same read as UTF-8. */
  target: Buffer;
  targetText: string;
  host: string;
  headers: HeaderPairs;
  /** The whole request body (all chunks, for a chunked upload). */
  body: Buffer;
}

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Byte i of /bytes/<n> (the contract's formula, restated here rather than imported from the app). */
export function expectedBytes(n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = (i * 7 + 3) % 251;
  return out;
}

/** The fixed text a server or the gateway answers with for an error it produces itself (configs/errors). */
export function errorText(status: number): string {
  return `${status} ${STATUS_CODES[status]}\n`;
}

function splitTarget(target: string): { rawPath: string; query: string } {
  const mark = target.indexOf('?');
  return mark === -1 ? { rawPath: target, query: '' } : { rawPath: target.slice(0, mark), query: target.slice(mark + 1) };
}

/** Percent-decodes to bytes, then reads UTF-8 (invalid sequences become U+FFFD). */
export function percentDecode(raw: Buffer): string {
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const hex = raw.subarray(i + 1, i + 3).toString('latin1');
    if (raw[i] === 0x25 && /^[0-9a-fA-F]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(raw[i]!);
    }
  }
  return new TextDecoder('utf-8').decode(Uint8Array.from(bytes));
}

/**
 * The path a web server routes and reports in PATH_INFO for a raw path:
 * percent-decoded, "." and ".." segments resolved (after decoding, so %2e%2e
 * counts), and, when `mergeSlashes`, runs of "/" merged. undefined when ".."
 * climbs above the root: such a target is a 400.
 */
export function serverPath(rawPath: Buffer, mergeSlashes: boolean, clampAboveRoot = false): string | undefined {
  let decoded = percentDecode(rawPath);
  if (mergeSlashes) decoded = decoded.replace(/\/{2,}/g, '/');
  const segments = decoded.split('/').slice(1);
  const out: string[] = [];
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const last = i === segments.length - 1;
    if (segment === '.' || segment === '..') {
      if (segment === '..') {
        if (out.length === 0 && !clampAboveRoot) return undefined;
        out.pop();
      }
      if (last) out.push(''); // "/a/b/.." -> "/a/"
      continue;
    }
    out.push(segment);
  }
  return `/${out.join('/')}`;
}

export type Route =
  | { kind: 'app'; pathInfo: string }
  | { kind: 'outside' }
  | { kind: 'bad' };

/** Where a request lands: in the app (with its PATH_INFO), outside the mount, or nowhere (400). */
export function route(sent: Sent, mergeSlashes = true, clampAboveRoot = false): Route {
  const rawPath = sent.target.subarray(0, sent.target.includes(0x3f) ? sent.target.indexOf(0x3f) : undefined);
  const path = serverPath(rawPath, mergeSlashes, clampAboveRoot);
  if (path === undefined) return { kind: 'bad' };
  if (sent.mount === '') return { kind: 'app', pathInfo: path };
  if (path === sent.mount) return { kind: 'app', pathInfo: '' };
  if (path.startsWith(`${sent.mount}/`)) return { kind: 'app', pathInfo: path.slice(sent.mount.length) };
  return { kind: 'outside' };
}

/** No framing faults: a Content-Length that is present is right, a chunked body is complete. */
export function expectSoundFraming(res: RawResponse): void {
  expect(res.problems, 'framing problems').toEqual([]);
}

export function expectText(res: RawResponse, status: number, body: string, contentType: string = TEXT_PLAIN): void {
  expectSoundFraming(res);
  expect({ status: res.status, contentType: header(res, 'content-type'), body: res.body.toString('utf8') })
    .toEqual({ status, contentType, body });
}

/** The web server's own 404 for a path outside the mount (configs/errors/404.txt). */
export function expectServerError(res: RawResponse, status: number): void {
  expectSoundFraming(res);
  expect({ status: res.status, body: res.body.toString('utf8') }).toEqual({ status, body: errorText(status) });
  expect(header(res, 'content-type') ?? '').toMatch(/^text\/plain\b/);
}

export function expectAppNotFound(res: RawResponse, pathInfo: string): void {
  expectText(res, 404, `yourapplication: no route for ${pathInfo || '/'}\n`);
}

/** Where the request lands decides the answer: the app's (via `inApp`), the server's 404 outside the mount, or 400. */
export function expectRouted(res: RawResponse, sent: Sent, inApp: (pathInfo: string) => void, mergeSlashes = true): void {
  const where = route(sent, mergeSlashes);
  if (where.kind === 'app') inApp(where.pathInfo);
  else if (where.kind === 'outside') expectServerError(res, 404);
  else expectServerError(res, 400);
}

/**
 * Names the app never sees: hop-by-hop and forwarding headers (app/echo.ts),
 * Proxy (httpoxy), names with "_", and Expect: the web server answers
 * "100 Continue" itself, so it has been consumed by the hop in front of the
 * app (RFC 3875 section 4.1.18 lets a server leave out headers it processed).
 */
const NOT_ECHOED = new Set([
  'connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-connection', 'content-length',
  'forwarded', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'x-forwarded-prefix',
  'x-real-ip', 'proxy', 'expect',
]);

/**
 * The headers /echo must report: what the client sent, lower-cased, repeated
 * names joined with ", ". Empty values are left out: lighttpd discards them
 * while parsing, so the translator drops them in every mode (gateway/environ.ts).
 */
export function expectedEchoHeaders(sent: Sent): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [rawName, value] of sent.headers) {
    const name = rawName.toLowerCase();
    if (NOT_ECHOED.has(name) || name.includes('_') || value === '') continue;
    out[name] = name in out ? `${out[name]}, ${value}` : value;
  }
  return out;
}

export interface EchoExpectation {
  /** PATH_INFO, or the acceptable alternatives where the contract allows more than one. */
  pathInfo: string | string[];
  /** Override the computed headers (e.g. to add what the client sent implicitly). */
  headers?: Record<string, string>;
}

export interface EchoBody {
  method: string;
  scriptName: string;
  pathInfo: string;
  rawPath: string;
  query: string;
  args: Record<string, string[]>;
  headers: Record<string, string>;
  body: { length: number; sha256: string };
  url: string;
  scheme: string;
  remoteAddr: string;
}

export function parseEcho(res: RawResponse): EchoBody {
  return JSON.parse(res.body.toString('utf8')) as EchoBody;
}

/** /echo's JSON, every field computed from what was sent. */
export function expectEcho(res: RawResponse, sent: Sent, expected: EchoExpectation): EchoBody {
  expectSoundFraming(res);
  expect({ status: res.status, contentType: header(res, 'content-type') }).toEqual({ status: 200, contentType: 'application/json' });
  const echo = parseEcho(res);
  const { rawPath, query } = splitTarget(sent.targetText);
  const args: Record<string, string[]> = {};
  for (const [key, value] of new URLSearchParams(query)) (args[key] ??= []).push(value);
  const pathInfos = Array.isArray(expected.pathInfo) ? expected.pathInfo : [expected.pathInfo];
  expect(pathInfos, `pathInfo ${JSON.stringify(echo.pathInfo)} is not one of the acceptable values`).toContain(echo.pathInfo);
  expect(echo).toEqual({
    method: sent.method,
    scriptName: sent.mount,
    pathInfo: echo.pathInfo,
    rawPath,
    query,
    args,
    headers: expected.headers ?? expectedEchoHeaders(sent),
    body: { length: sent.body.length, sha256: sha256(sent.body) },
    // Scheme and Host, then the target: never new URL(target, base), which reads "//x" as a host.
    url: new URL(`http://${sent.host}${sent.targetText}`).href,
    scheme: 'http',
    remoteAddr: echo.remoteAddr,
  });
  expect(isIP(echo.remoteAddr), `remoteAddr ${JSON.stringify(echo.remoteAddr)} is not an IP address`).not.toBe(0);
  return echo;
}

export function expectCookies(res: RawResponse, mount: Mount): void {
  const path = mount || '/';
  expectText(res, 200, 'two cookies set\n');
  expect(headerValues(res, 'set-cookie')).toEqual([`session=abc123; Path=${path}; HttpOnly; SameSite=Lax`, `theme=dark; Path=${path}`]);
}

export function expectRedirect(res: RawResponse, location: string): void {
  expectText(res, 302, `Redirecting to ${location}\n`);
  expect(headerValues(res, 'location')).toEqual([location]);
}

export function expectBytes(res: RawResponse, n: number): void {
  expectSoundFraming(res);
  expect({ status: res.status, contentType: header(res, 'content-type'), length: res.body.length })
    .toEqual({ status: 200, contentType: 'application/octet-stream', length: n });
  expect(res.body.equals(expectedBytes(n)), 'the bytes follow (i*7+3)%251').toBe(true);
}

export function streamBody(chunks: number): string {
  return Array.from({ length: chunks }, (_, i) => `chunk ${i + 1} of ${chunks}\n`).join('');
}

/** A bodiless answer: status and headers as given, no body, and a Content-Length, if any, of `length`. */
export function expectHead(res: RawResponse, status: number, contentType: string | undefined, length?: number): void {
  expectSoundFraming(res);
  expect({ status: res.status, contentType: header(res, 'content-type'), body: res.body.length }).toEqual({ status, contentType, body: 0 });
  const declared = header(res, 'content-length');
  if (declared !== undefined && length !== undefined) expect(Number(declared), 'HEAD Content-Length = the GET body length').toBe(length);
}
