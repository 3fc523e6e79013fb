/**
 * The requests every mode must answer identically and correctly, at every
 * mounts. Paths are relative to the mount unless `outside` says the target is
 * sent exactly as written (to probe the server around the app). Each case
 * states its correct answer, computed from the request (contract.ts).
 *
 * docs/design.md#54-the-corpus lists the floor; this goes past it where a real client
 * or attacker would.
 */
import { expect } from 'vitest';
import {
  BODY_LIMIT, errorText, expectAppNotFound, expectBytes, expectCookies, expectEcho, expectHead, expectRedirect,
  expectRouted, expectServerError, expectSoundFraming, expectText, route, streamBody, TEXT_PLAIN, type Sent,
} from './contract.ts';
import type { Mount } from './matrix.ts';
import { header, headerValues, type HeaderPairs, type RawRequest, type RawResponse } from './raw-http.ts';

export const HOST = 'example.test';

export interface Case {
  name: string;
  method?: string;
  /** Relative to the mount, or the whole target when `outside`. A Buffer carries raw (non-ASCII) bytes. */
  path: string | Buffer;
  outside?: boolean;
  /** The Host header's value (default example.test); null sends none. */
  host?: string | null;
  headers?: HeaderPairs;
  body?: Buffer;
  /** Send `body` without a Content-Length header. */
  noContentLength?: boolean;
  /** Send the body with Transfer-Encoding: chunked. */
  chunks?: Buffer[];
  /** Compare each mount with the root after swapping the prefix (default: unless `outside`). */
  crossMount?: boolean;
  /** Blanks out the parts of a body that differ by design (the index page's pid and mode). */
  volatile?: (body: string) => string;
  expect(res: RawResponse, sent: Sent): void;
}

export function requestFor(c: Case, mount: Mount): { raw: RawRequest; sent: Sent } {
  const method = c.method ?? 'GET';
  const path = typeof c.path === 'string' ? Buffer.from(c.path, 'latin1') : c.path;
  const target = c.outside ? path : Buffer.concat([Buffer.from(mount, 'latin1'), path]);
  const host = c.host === undefined ? HOST : c.host;
  const headers: HeaderPairs = [...(host === null ? [] : [['Host', host] as [string, string]]), ...(c.headers ?? [])];
  if (c.body && !c.noContentLength) headers.push(['Content-Length', String(c.body.length)]);
  const body = c.chunks ? Buffer.concat(c.chunks) : (c.body ?? Buffer.alloc(0));
  const raw: RawRequest = { method, target, headers, body: c.body, chunks: c.chunks };
  const sentHeaders: HeaderPairs = [...headers, ['Connection', 'close'], ...(c.chunks ? [['Transfer-Encoding', 'chunked'] as [string, string]] : [])];
  return { raw, sent: { mount, method, target, targetText: target.toString('utf8'), host: host ?? '', headers: sentHeaders, body } };
}

export function crossMount(c: Case): boolean {
  return c.crossMount ?? !c.outside;
}

const utf8 = (text: string) => Buffer.from(text, 'utf8');

/** Deterministic pseudo-random bytes (not all equal, so a truncated or shifted body changes the digest). */
function payload(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

function split(buffer: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buffer.length; i += size) out.push(buffer.subarray(i, i + size));
  return out;
}

/** The echo answer where the request lands in the app; elsewhere the server's 404 (or 400). */
function echoCase(name: string, path: string | Buffer, extra: Partial<Case> = {}, slashes: 'merged' | 'either' = 'merged'): Case {
  return {
    name,
    path,
    ...extra,
    expect(res, sent) {
      // Raw bytes over 0x7F are not valid in a request target (RFC 9112 section 3.2, RFC 3986 section 2):
      // taking them as UTF-8 or refusing them with the fixed 400 are both right; the identity test wants one of them everywhere.
      if (res.status === 400 && sent.target.some((byte) => byte > 0x7f)) return expectServerError(res, 400);
      expectRouted(res, sent, (pathInfo) => {
        // Slash merging is not in the contract: either form is right, but all five must agree (identity).
        const alternatives = slashes === 'either' ? [pathInfo, (route(sent, false) as { pathInfo: string }).pathInfo] : pathInfo;
        expectEcho(res, sent, { pathInfo: alternatives });
      });
    },
  };
}

function helloExpect(res: RawResponse): void {
  expectText(res, 200, 'Hello, World!\n');
  expect(header(res, 'content-length'), '/hello keeps the app\'s Content-Length').toBe('14');
}

/** The app's own router for GET, restated: what a GET of `pathInfo` answers. */
function expectAppGet(res: RawResponse, sent: Sent, pathInfo: string): void {
  if (/^\/?$/.test(pathInfo)) return expectIndex(res, sent, pathInfo);
  if (pathInfo === '/hello') return helloExpect(res);
  expectAppNotFound(res, pathInfo);
}

const VOLATILE_ROWS = /(<tr><th>(?:mode|server software|pid|requests served by this process)<\/th><td><code>)[^<]*(<\/code>)/g;
const indexVolatile = (body: string) => body.replace(VOLATILE_ROWS, '$1*$2');

function expectIndex(res: RawResponse, sent: Sent, pathInfo: string): void {
  expectSoundFraming(res);
  expect({ status: res.status, contentType: header(res, 'content-type') }).toEqual({ status: 200, contentType: 'text/html; charset=utf-8' });
  const html = res.body.toString('utf8');
  const row = (name: string) => new RegExp(`<tr><th>${name}</th><td><code>([^<]*)</code></td></tr>`).exec(html)?.[1];
  expect({ scriptName: row('SCRIPT_NAME'), pathInfo: row('PATH_INFO'), requestUri: row('REQUEST_URI') })
    .toEqual({ scriptName: sent.mount, pathInfo, requestUri: sent.targetText });
  expect(html).toContain(`<a href="${sent.mount}/hello">`);
}

/**
 * A GET sent exactly as written, around the mounts: the app's answer where it
 * lands inside the mount (the root mount takes every path), else the server's 404.
 */
function aroundMount(name: string, path: string, extra: Partial<Case> = {}): Case {
  return { name, path, outside: true, ...extra, expect: (res, sent) => expectRouted(res, sent, (pathInfo) => expectAppGet(res, sent, pathInfo)) };
}

/** A probe for something that must never be served: 404 (or 400), never the file. */
function notServed(name: string, path: string, extra: Partial<Case> = {}): Case {
  return {
    name,
    path,
    outside: true,
    ...extra,
    expect(res, sent) {
      expectSoundFraming(res);
      expect([400, 404], `status ${res.status}`).toContain(res.status);
      const body = res.body.toString('utf8');
      for (const secret of ['root:x:0:0', 'import ', 'export ', '"devDependencies"', '#!/', 'BASE_IMAGE', '[core]']) {
        expect(body, 'a file\'s content was served').not.toContain(secret);
      }
      if (res.status === 400) {
        expect(body).toBe(errorText(400));
        return;
      }
      // ".." above the root: nginx and Apache answer 400, RFC 3986 clamps it at "/". Either, but the same in all five.
      // Inside the mount, the app's 404 or the server's own (a server may refuse a target before routing, e.g. %00).
      const where = route(sent, true, true);
      const acceptable = [errorText(404)];
      if (where.kind === 'app') acceptable.push(`yourapplication: no route for ${where.pathInfo || '/'}\n`);
      expect(acceptable, 'the server\'s 404 page or the app\'s 404').toContain(body);
      expect(header(res, 'content-type') ?? '').toMatch(/^text\/plain\b/);
    },
  };
}

const oneMiB = payload(1024 * 1024, 1);
const atLimit = payload(BODY_LIMIT, 2);
const overLimit = payload(BODY_LIMIT + 1, 3);
const longQuery = `q=${'abcdefghij'.repeat(400)}&r=%C3%A9`;

export const CORPUS: Case[] = [
  // The seeds' example and the index page.
  { name: 'GET /hello', path: '/hello', expect: helloExpect },
  {
    name: 'GET /hello with Accept-Encoding: gzip (no server compresses the app\'s answer)',
    path: '/hello',
    headers: [['Accept-Encoding', 'gzip, deflate, br']],
    expect: (res) => { helloExpect(res); expect(header(res, 'content-encoding')).toBeUndefined(); },
  },
  { name: 'GET /hello/ (trailing slash is another route)', path: '/hello/', expect: (res) => expectAppNotFound(res, '/hello/') },
  { name: 'POST /hello is 405', method: 'POST', path: '/hello', body: Buffer.alloc(0),
    expect: (res) => { expectText(res, 405, 'method not allowed\n'); expect(header(res, 'allow')).toBe('GET, HEAD'); } },
  { name: 'POST /hello with a body the app never reads is 405', method: 'POST', path: '/hello', body: Buffer.from('x=1&y=2'),
    expect: (res) => { expectText(res, 405, 'method not allowed\n'); expect(header(res, 'allow')).toBe('GET, HEAD'); } },
  { name: 'POST /nope with a 64 KiB body the app never reads', method: 'POST', path: '/nope', body: payload(64 * 1024, 4),
    expect: (res) => expectAppNotFound(res, '/nope') },
  { name: 'DELETE /hello is 405', method: 'DELETE', path: '/hello',
    expect: (res) => { expectText(res, 405, 'method not allowed\n'); expect(header(res, 'allow')).toBe('GET, HEAD'); } },
  { name: 'GET / (index page)', path: '/', volatile: indexVolatile, expect: (res, sent) => expectIndex(res, sent, '/') },
  aroundMount('GET the bare mount (no trailing slash)', '/yourapplication', { volatile: indexVolatile }),
  aroundMount('GET the mount with a trailing slash', '/yourapplication/', { volatile: indexVolatile }),

  // /echo: paths.
  echoCase('GET /echo', '/echo'),
  echoCase('GET /echo/ (trailing slash)', '/echo/'),
  echoCase('GET /echo/some/path?a=1&a=2&b=%C3%A9', '/echo/some/path?a=1&a=2&b=%C3%A9'),
  echoCase('GET /echo/%C3%A9t%C3%A9 (percent-encoded UTF-8 in the path)', '/echo/%C3%A9t%C3%A9'),
  echoCase('GET /echo/été (raw UTF-8 bytes in the path)', utf8('/echo/été')),
  echoCase('GET /echo/a%20b+c%25d (space, plus, percent)', '/echo/a%20b+c%25d'),
  echoCase('GET /echo/a%2Fb (encoded slash)', '/echo/a%2Fb'),
  echoCase('GET /echo/%FF (invalid UTF-8 after decoding)', '/echo/%FF'),
  echoCase('GET /echo/~user/x.y-z_w (unreserved characters)', '/echo/~user/x.y-z_w'),
  echoCase('GET /echo/%7Euser (encoded unreserved character)', '/echo/%7Euser'),
  {
    name: 'GET /echo;jsessionid=1 (a semicolon is part of the segment)',
    path: '/echo;jsessionid=1',
    expect: (res, sent) => expectRouted(res, sent, (pathInfo) => expectAppNotFound(res, pathInfo)),
  },
  echoCase('GET /echo/a;b=c', '/echo/a;b=c'),
  echoCase('GET /a/../echo (dot-dot segment)', '/a/../echo'),
  echoCase('GET /./echo (dot segment)', '/./echo'),
  echoCase('GET /echo/x/./y/../z', '/echo/x/./y/../z'),
  echoCase('GET /x/%2e%2e/echo (encoded dot-dot)', '/x/%2e%2e/echo'),
  echoCase('GET /echo/%2E/z (encoded dot)', '/echo/%2E/z'),
  echoCase('GET /echo/.. (dot-dot at the end)', '/echo/a/..'),
  echoCase('GET //echo (double slash at the start)', '//echo', {}, 'either'),
  echoCase('GET /echo//x (double slash inside)', '/echo//x', {}, 'either'),
  echoCase('GET /echo/x// (double slash at the end)', '/echo/x//', {}, 'either'),

  // /echo: query strings.
  echoCase('GET /echo?q=a+b%20c (plus and %20)', '/echo?q=a+b%20c'),
  echoCase('GET /echo?empty=&flag&=v (empty keys and values)', '/echo?empty=&flag&=v'),
  echoCase('GET /echo? (empty query)', '/echo?'),
  echoCase('GET /echo?x=%2F%3F%26%3D%23 (encoded delimiters)', '/echo?x=%2F%3F%26%3D%23'),
  echoCase('GET /echo?q=été (raw UTF-8 bytes in the query)', utf8('/echo?q=été&k=日本')),
  echoCase('GET /echo?nul=%00', '/echo?nul=%00'),
  echoCase('GET /echo?a=1&a=2&a=3 (repeated keys keep their order)', '/echo?a=3&a=1&a=2'),
  echoCase('GET /echo?q=/path?x=y (unencoded ? and / in the query)', '/echo?q=/path?x=y'),
  echoCase('GET /echo?<4 KB> (long query)', `/echo?${longQuery}`),
  echoCase('GET /echo/%C3%A9?b=%C3%A9 (encoded in both)', '/echo/%C3%A9?b=%C3%A9'),

  // /echo: request headers.
  echoCase('custom headers pass through', '/echo', { headers: [['X-Custom', 'value 1'], ['X-Other-Header', 'a,b;c=d'], ['User-Agent', 'integration/1.0']] }),
  echoCase('header names with underscores are dropped (X_Custom)', '/echo', { headers: [['X_Custom', 'v'], ['X-Custom', 'dash']] }),
  echoCase('an underscore header cannot spoof X-Forwarded-For (X_Forwarded_For)', '/echo', { headers: [['X_Forwarded_For', '6.6.6.6']] }),
  echoCase('the Proxy header never reaches the app (httpoxy)', '/echo', { headers: [['Proxy', 'http://evil.example:3128/']] }),
  echoCase('client X-Forwarded-* change neither remoteAddr nor url nor scheme', '/echo', {
    headers: [['X-Forwarded-For', '6.6.6.6'], ['X-Forwarded-Host', 'evil.example'], ['X-Forwarded-Proto', 'https'],
      ['X-Forwarded-Port', '8443'], ['X-Forwarded-Prefix', '/evil'], ['X-Real-IP', '6.6.6.6'], ['Forwarded', 'for=6.6.6.6;host=evil.example;proto=https']],
  }),
  echoCase('Authorization passes through', '/echo', { headers: [['Authorization', 'Basic dXNlcjpwYXNz']] }),
  echoCase('Cookie passes through', '/echo', { headers: [['Cookie', 'a=1; b=two']] }),
  echoCase('a repeated header arrives joined with ", "', '/echo', { headers: [['X-Multi', 'one'], ['X-Multi', 'two']] }),
  echoCase('an empty header value is dropped (lighttpd cannot pass one)', '/echo', { headers: [['X-Empty', '']] }),
  echoCase('Host with a port is kept in the url', '/echo', { host: 'example.test:8080' }),
  echoCase('Accept-Encoding reaches the app, the answer is not compressed', '/echo', { headers: [['Accept-Encoding', 'gzip']] }),

  // /echo: methods and bodies.
  echoCase('POST /echo with a form body', '/echo?x=1', {
    method: 'POST', headers: [['Content-Type', 'application/x-www-form-urlencoded']], body: Buffer.from('a=1&b=%C3%A9&c=x+y'),
  }),
  echoCase('POST /echo with a JSON body', '/echo', {
    method: 'POST', headers: [['Content-Type', 'application/json']], body: utf8('{"name":"été","n":[1,2,3]}\n'),
  }),
  echoCase('POST /echo with Content-Length: 0', '/echo', { method: 'POST', body: Buffer.alloc(0) }),
  echoCase('PUT /echo with a body', '/echo/item/1', { method: 'PUT', headers: [['Content-Type', 'text/plain']], body: Buffer.from('replacement\n') }),
  echoCase('PATCH /echo with a body', '/echo', { method: 'PATCH', headers: [['Content-Type', 'application/merge-patch+json']], body: Buffer.from('{"a":null}') }),
  {
    // RFC 9112 section 6.3: no Content-Length and no Transfer-Encoding is a zero-length body;
    // a server MAY insist on a length instead (411, RFC 9110 section 15.5.12). Identity decides.
    name: 'POST /echo with neither a body nor Content-Length',
    method: 'POST',
    path: '/echo',
    expect: (res, sent) => (res.status === 411 ? expectServerError(res, 411) : expectRouted(res, sent, (pathInfo) => expectEcho(res, sent, { pathInfo }))),
  },
  echoCase('DELETE /echo', '/echo/item/1', { method: 'DELETE' }),
  echoCase('OPTIONS /echo', '/echo', { method: 'OPTIONS' }),
  echoCase('POST /echo with a 1 MiB body', '/echo', { method: 'POST', headers: [['Content-Type', 'application/octet-stream']], body: oneMiB }),
  echoCase('POST /echo with exactly the body limit (2 MiB)', '/echo', { method: 'POST', headers: [['Content-Type', 'application/octet-stream']], body: atLimit }),
  {
    name: 'POST /echo with the body limit + 1 byte is 413',
    method: 'POST',
    path: '/echo',
    headers: [['Content-Type', 'application/octet-stream']],
    body: overLimit,
    expect: (res, sent) => expectRouted(res, sent, () => expectServerError(res, 413)),
  },
  echoCase('POST /echo chunked (Transfer-Encoding: chunked, small)', '/echo', {
    method: 'POST', headers: [['Content-Type', 'text/plain']], chunks: [Buffer.from('hello '), Buffer.from('chunked '), Buffer.from('world\n')],
  }),
  echoCase('POST /echo chunked, 1 MiB in 64 KiB chunks', '/echo', {
    method: 'POST', headers: [['Content-Type', 'application/octet-stream']], chunks: split(oneMiB, 64 * 1024),
  }),
  {
    name: 'POST /echo chunked over the body limit is 413',
    method: 'POST',
    path: '/echo',
    headers: [['Content-Type', 'application/octet-stream']],
    chunks: split(overLimit, 256 * 1024),
    expect: (res, sent) => expectRouted(res, sent, () => expectServerError(res, 413)),
  },
  echoCase('POST /echo with Expect: 100-continue', '/echo', {
    method: 'POST', headers: [['Content-Type', 'text/plain'], ['Expect', '100-continue']], body: Buffer.from('after continue\n'),
  }),
  {
    name: 'TRACE /echo is refused (cross-site tracing)',
    method: 'TRACE',
    path: '/echo',
    headers: [['Cookie', 'secret=1']],
    expect: (res, sent) => expectRouted(res, sent, () => expectServerError(res, 405)),
  },

  // Requests the server must refuse itself, with its fixed error pages (configs/errors).
  { name: 'no Host header (HTTP/1.1 requires one) is 400', path: '/hello', host: null, expect: (res) => expectServerError(res, 400) },
  { name: 'a malformed Host header is 400', path: '/hello', host: 'bad host/x', expect: (res) => expectServerError(res, 400) },
  // 414 is the precise answer, 431 (lighttpd counts the request line in its header limit) is a legitimate refusal too;
  // which one, all five must agree on (the identity test).
  { name: 'a 10 KB request target is refused (414)', path: `/echo?q=${'x'.repeat(10_000)}`, expect: (res) => expectServerError(res, res.status === 431 ? 431 : 414) },
  // 431 (RFC 6585) or the older 400: Apache has no way to answer 431. Again: the same in all five.
  {
    name: 'a 20 KB request header is refused (431 or 400)', path: '/echo', headers: [['X-Big', 'y'.repeat(20_000)]],
    expect: (res) => expectServerError(res, res.status === 400 ? 400 : 431),
  },

  // Redirects and cookies.
  { name: 'GET /redirect?to=/hello', path: '/redirect?to=/hello', expect: (res, sent) => expectRedirect(res, `${sent.mount}/hello`) },
  { name: 'GET /redirect (default target)', path: '/redirect', expect: (res, sent) => expectRedirect(res, `${sent.mount}/`) },
  { name: 'GET /redirect?to=/echo?x=1 (query in the target)', path: '/redirect?to=%2Fecho%3Fx%3D1', expect: (res, sent) => expectRedirect(res, `${sent.mount}/echo?x=1`) },
  { name: 'GET /redirect?to=//evil.example is refused', path: '/redirect?to=//evil.example', expect: (res) => expectText(res, 400, 'to must be a path inside the app\n') },
  { name: 'GET /cookies (two Set-Cookie)', path: '/cookies', expect: (res, sent) => expectCookies(res, sent.mount) },

  // Streaming, bytes, status codes, errors, slowness.
  { name: 'GET /stream?chunks=3', path: '/stream?chunks=3', expect: (res) => expectText(res, 200, streamBody(3)) },
  { name: 'GET /stream?chunks=0 (empty streamed body)', path: '/stream?chunks=0', expect: (res) => expectText(res, 200, '') },
  { name: 'GET /stream?chunks=abc is 400', path: '/stream?chunks=abc', expect: (res) => expectText(res, 400, 'chunks must be 0..1000\n') },
  { name: 'GET /bytes/0', path: '/bytes/0', expect: (res) => expectBytes(res, 0) },
  { name: 'GET /bytes/100000', path: '/bytes/100000', expect: (res) => expectBytes(res, 100_000) },
  { name: 'GET /bytes/1000000', path: '/bytes/1000000', expect: (res) => expectBytes(res, 1_000_000) },
  {
    name: 'GET /bytes/1000 with Range: the app\'s full answer, no server-made 206',
    path: '/bytes/1000',
    headers: [['Range', 'bytes=0-9']],
    expect: (res) => { expectBytes(res, 1000); expect(header(res, 'content-range')).toBeUndefined(); },
  },
  { name: 'GET /status/204', path: '/status/204', expect: (res) => expectHead(res, 204, undefined) },
  { name: 'GET /status/304', path: '/status/304', expect: (res) => expectHead(res, 304, undefined) },
  { name: 'GET /status/418', path: '/status/418', expect: (res) => expectText(res, 418, 'status 418\n') },
  { name: 'GET /status/503', path: '/status/503', expect: (res) => expectText(res, 503, 'status 503\n') },
  { name: 'GET /status/500 (the app\'s body, not the server\'s page)', path: '/status/500', expect: (res) => expectText(res, 500, 'status 500\n') },
  { name: 'GET /status/404 (the app\'s body, not the server\'s page)', path: '/status/404', expect: (res) => expectText(res, 404, 'status 404\n') },
  { name: 'GET /status/201', path: '/status/201', expect: (res) => expectText(res, 201, 'status 201\n') },
  { name: 'GET /status/600 is 400', path: '/status/600', expect: (res) => expectText(res, 400, 'code must be 200..599\n') },
  { name: 'GET /error (the handler throws)', path: '/error', expect: (res) => expectText(res, 500, errorText(500)) },
  { name: 'GET /slow?ms=100', path: '/slow?ms=100', expect: (res) => expectText(res, 200, 'slept 100 ms\n') },

  // Unknown routes inside the mount: the app's own 404.
  { name: 'GET /nope (unknown route)', path: '/nope', expect: (res) => expectAppNotFound(res, '/nope') },
  { name: 'GET /HELLO (routes are case-sensitive)', path: '/HELLO', expect: (res) => expectAppNotFound(res, '/HELLO') },
  { name: 'GET /no%20such/page%C3%A9 (decoded in the 404)', path: '/no%20such/page%C3%A9', expect: (res) => expectAppNotFound(res, '/no such/pageé') },

  // HEAD: the GET's status and headers, no body.
  { name: 'HEAD /hello', method: 'HEAD', path: '/hello', expect: (res) => expectHead(res, 200, TEXT_PLAIN, 14) },
  { name: 'HEAD /echo', method: 'HEAD', path: '/echo', expect: (res) => expectHead(res, 200, 'application/json') },
  { name: 'HEAD /bytes/1000', method: 'HEAD', path: '/bytes/1000', expect: (res) => expectHead(res, 200, 'application/octet-stream', 1000) },
  { name: 'HEAD /stream?chunks=3', method: 'HEAD', path: '/stream?chunks=3', expect: (res) => expectHead(res, 200, TEXT_PLAIN, streamBody(3).length) },
  {
    name: 'HEAD /cookies', method: 'HEAD', path: '/cookies',
    expect: (res, sent) => {
      expectHead(res, 200, TEXT_PLAIN, 'two cookies set\n'.length);
      expect(headerValues(res, 'set-cookie')).toHaveLength(2);
      expect(headerValues(res, 'set-cookie')[0]).toContain(`Path=${sent.mount || '/'};`);
    },
  },
  {
    name: 'HEAD /redirect?to=/hello', method: 'HEAD', path: '/redirect?to=/hello',
    expect: (res, sent) => { expectHead(res, 302, TEXT_PLAIN); expect(header(res, 'location')).toBe(`${sent.mount}/hello`); },
  },
  { name: 'HEAD /status/418', method: 'HEAD', path: '/status/418', expect: (res) => expectHead(res, 418, TEXT_PLAIN, 'status 418\n'.length) },
  { name: 'HEAD /error', method: 'HEAD', path: '/error', expect: (res) => expectHead(res, 500, TEXT_PLAIN, errorText(500).length) },
  { name: 'HEAD /nope', method: 'HEAD', path: '/nope', expect: (res) => expectHead(res, 404, TEXT_PLAIN) },

  // Outside the mount (at the root mount these are the app's): the server's own 404.
  aroundMount('GET /hello outside the mount', '/hello'),
  aroundMount('GET /elsewhere/x outside the mount', '/elsewhere/x'),
  aroundMount('GET /yourapplicationx/hello (the mount matches whole segments only)', '/yourapplicationx/hello'),
  aroundMount('GET /YourApplication/hello (the mount is case-sensitive)', '/YourApplication/hello'),
  aroundMount('GET /yourapplication/../hello (dot-dot out of the mount)', '/yourapplication/../hello'),
  aroundMount('GET /yourapplication%2Fhello (encoded slash after the mount)', '/yourapplication%2Fhello'),
  // The two-segment mount /team-1/app.v2: "." must not act as a regex wildcard, the mount is whole segments.
  aroundMount('GET /team-1/app.v2 (the bare two-segment mount)', '/team-1/app.v2', { volatile: indexVolatile }),
  aroundMount('GET /team-1/appXv2/hello (the "." in the mount is no wildcard)', '/team-1/appXv2/hello'),
  aroundMount('GET /team-1/app.v2x/hello (whole segments only)', '/team-1/app.v2x/hello'),
  aroundMount('GET /team-1/app.v2/../hello (dot-dot out of the two-segment mount)', '/team-1/app.v2/../hello'),
  aroundMount('GET /team-1/app%2Ev2/hello (an encoded "." in the mount)', '/team-1/app%2Ev2/hello'),
  {
    name: 'HEAD /elsewhere outside the mount', method: 'HEAD', path: '/elsewhere', outside: true,
    expect: (res, sent) => {
      if (route(sent).kind === 'app') return expectHead(res, 404, TEXT_PLAIN, 'yourapplication: no route for /elsewhere\n'.length);
      expectHead(res, 404, header(res, 'content-type'), errorText(404).length);
      expect(header(res, 'content-type') ?? '').toMatch(/^text\/plain\b/);
    },
  },
  {
    name: 'POST outside the mount', method: 'POST', path: '/elsewhere', outside: true, body: Buffer.from('x=1'),
    expect: (res, sent) => expectRouted(res, sent, (pathInfo) => expectAppNotFound(res, pathInfo)),
  },

  // Nothing but the app is served: no sources, configs, dotfiles, or files outside the document root.
  notServed('the app source is not served: /app/app.ts', '/app/app.ts'),
  notServed('the CGI entry is not served: /app/yourapplication.cgi.ts', '/app/yourapplication.cgi.ts'),
  notServed('/yourapplication.cgi is not served', '/yourapplication.cgi'),
  notServed('/yourapplication.fcgi is not served', '/yourapplication.fcgi'),
  notServed('/cgi-bin/yourapplication.cgi is not served', '/cgi-bin/yourapplication.cgi'),
  notServed('the gateway source is not served: /gateway/cgi.ts', '/gateway/cgi.ts'),
  notServed('/package.json is not served', '/package.json'),
  notServed('/.env is not served', '/.env'),
  notServed('/.git/config is not served', '/.git/config'),
  notServed('/Dockerfile is not served', '/Dockerfile'),
  notServed('/server-status is not served', '/server-status'),
  notServed('/../../etc/passwd (traversal)', '/../../etc/passwd'),
  notServed('/%2e%2e/%2e%2e/etc/passwd (encoded traversal)', '/%2e%2e/%2e%2e/etc/passwd'),
  notServed('/yourapplication/../../../etc/passwd (traversal from the mount)', '/yourapplication/../../../etc/passwd'),
  notServed('/..%2f..%2fetc/passwd (traversal with encoded slashes)', '/..%2f..%2fetc/passwd'),
  notServed('/yourapplication/..%2f..%2fapp/app.ts', '/yourapplication/..%2f..%2fapp/app.ts'),
  notServed('/yourapplication/%00 (encoded NUL)', '/yourapplication/%00'),
];

