/**
 * The one translator between CGI meta-variables (RFC 3875) and a Fetch
 * `Request`. CGI, FastCGI and HTTP all come through here (HTTP by first
 * building the same meta-variables in http/environ.ts), so the app sees the
 * same url, headers, scriptName, pathInfo and body whichever way it was
 * reached. Go's net/http/cgi RequestFromMap is the model.
 */
import { RequestBodyTooLarge } from './errors.ts';
import { TOKEN } from './http-token.ts';
import { TsgiRequest } from './lazy-request.ts';
import { RequestSignal } from './request-signal.ts';
import type { Environ, TsgiContext } from './types.ts';

/** The default request body limit, equal to the web servers' limits in configs/. */
export const DEFAULT_BODY_LIMIT = 2 * 1024 * 1024;

export interface TranslateOptions {
  /** Bytes of request body the app may read; more is a 413. */
  bodyLimit?: number;
  /** Aborts the request (client gone, FCGI_ABORT_REQUEST, timeout). */
  signal?: AbortSignal | RequestSignal;
}

export type BodySource = AsyncIterable<Uint8Array>;

export interface Translated {
  request: Request;
  context: TsgiContext;
}

/**
 * Meta-variables the request must not turn into anything: HTTP_PROXY is the
 * client's `Proxy:` header, and leaving it where proxy-aware code reads its
 * configuration is the httpoxy vulnerability (CVE-2016-5385 and friends).
 */
export function withoutHttpoxy(environ: Environ): Environ {
  if (!('HTTP_PROXY' in environ)) return environ;
  const { HTTP_PROXY: _dropped, ...rest } = environ;
  return rest;
}

export function isHttps(environ: Environ): boolean {
  const https = (environ.HTTPS ?? '').toLowerCase();
  return https === 'on' || https === '1';
}

/** CONTENT_LENGTH as a number, or undefined when absent; NaN when it is garbage. */
export function contentLength(environ: Environ): number | undefined {
  const raw = environ.CONTENT_LENGTH;
  if (raw === undefined || raw === '') return undefined;
  return /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
}

/**
 * Whether the transport should open the request body at all. GET and HEAD
 * never carry one for the app (Fetch forbids it). Otherwise a CONTENT_LENGTH
 * says how much to read; no CONTENT_LENGTH means read to EOF, which is how
 * Apache passes chunked uploads to CGI scripts.
 */
export function expectsBody(environ: Environ): boolean {
  const method = (environ.REQUEST_METHOD ?? 'GET').toUpperCase();
  if (method === 'GET' || method === 'HEAD') return false;
  const length = contentLength(environ);
  return length === undefined || length > 0;
}

/** "" or a path starting with "/": what RFC 3875 says PATH_INFO is. */
function normalizePathInfo(pathInfo: string | undefined): string {
  if (!pathInfo) return '';
  return pathInfo.startsWith('/') ? pathInfo : `/${pathInfo}`;
}

/** WSGI's rule, kept here: SCRIPT_NAME never ends in "/"; the root mount is "". */
function normalizeScriptName(scriptName: string | undefined): string {
  return (scriptName ?? '').replace(/\/+$/, '');
}

/** The path and query as the client sent them (percent-encoding kept). */
export function requestTarget(environ: Environ): string {
  const uri = environ.REQUEST_URI;
  if (uri) {
    // An absolute-form target (proxies send "http://host/path") contributes its path only.
    const absolute = /^[a-z][a-z0-9+.-]*:\/\/[^/]*/i.exec(uri);
    const target = absolute ? uri.slice(absolute[0].length) || '/' : uri;
    return target.startsWith('/') ? target : `/${target}`;
  }
  const path = encodeURI(normalizeScriptName(environ.SCRIPT_NAME) + normalizePathInfo(environ.PATH_INFO)) || '/';
  const query = environ.QUERY_STRING;
  return query ? `${path}?${query}` : path;
}

function authority(environ: Environ): string {
  if (environ.HTTP_HOST) return environ.HTTP_HOST;
  const name = environ.SERVER_NAME || 'localhost';
  const port = environ.SERVER_PORT;
  const defaultPort = isHttps(environ) ? '443' : '80';
  return port && port !== defaultPort ? `${name}:${port}` : name;
}

/**
 * A host the WHATWG URL parser leaves exactly as it is: lower-case DNS labels
 * whose last one is not numeric (a numeric one means IPv4 parsing, where
 * "127.1" becomes "127.0.0.1"), or a canonical dotted quad; no IDNA ("xn--")
 * labels; a port of 1 to 5 digits without a leading zero.
 */
const PLAIN_HOST = /^(?:(?:[a-z0-9-]+\.)*[a-z_-][a-z0-9_-]*|(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d))(?::([1-9]\d{0,4}))?$/;
/** Target characters the parser neither escapes nor interprets; no "." segments, no %2e ("." in disguise), no "#". */
const PLAIN_TARGET = /^\/[A-Za-z0-9\-._~!$&()*+,;=:@/%?]*$/;
const DOT_SEGMENT = /\/\.\.?(?:[/?]|$)|%2e/i;

/**
 * The string `new URL(url).href` would give for scheme://authority + target,
 * when that is the input itself: most requests, so the common case skips the
 * URL parser (about a quarter of a microsecond, for every app that reads request.url).
 */
function alreadyCanonical(scheme: string, host: string, target: string): boolean {
  const plain = PLAIN_HOST.exec(host);
  if (!plain || host.includes('xn--')) return false;
  const port = plain[1];
  if (port !== undefined && (Number(port) > 65535 || port === (scheme === 'https' ? '443' : '80'))) return false;
  return PLAIN_TARGET.test(target) && !DOT_SEGMENT.test(target.split('?', 1)[0]!);
}

/** The absolute URL the app sees: scheme://host + the raw request target. */
export function requestUrl(environ: Environ): string {
  const scheme = isHttps(environ) ? 'https' : 'http';
  const target = requestTarget(environ);
  const host = authority(environ);
  if (alreadyCanonical(scheme, host, target)) return `${scheme}://${host}${target}`;
  // Concatenated, not resolved against a base: a target like "//evil.example/x"
  // is a path with an empty first segment, never a new authority.
  try {
    return new URL(`${scheme}://${host}${target}`).href;
  } catch {
    // A Host header that is not a valid authority: fall back to the server's own name.
    return new URL(`${scheme}://${environ.SERVER_NAME || 'localhost'}${target}`).href;
  }
}

/**
 * The Cookie header with its cookies separated by "; " (RFC 6265 section
 * 5.4). Apache joins repeated Cookie fields with ", " (RFC 9110 section 5.3's
 * rule for other fields), nginx and lighttpd with "; "; a comma is a cookie
 * separator in RFC 2965 and never part of an RFC 6265 cookie-value, so every
 * mode shows the app the same cookie string (docs/http-policy.md).
 */
function cookieHeader(value: string): string {
  return value.includes(',') ? value.replace(/\s*,\s*/g, '; ') : value;
}

/** HTTP_X_FORWARDED_FOR -> x-forwarded-for, plus CONTENT_TYPE and CONTENT_LENGTH. */
export function requestHeaders(environ: Environ, withBody: boolean): Headers {
  const headers = new Headers();
  for (const [key, value] of Object.entries(environ)) {
    if (!key.startsWith('HTTP_') || key === 'HTTP_PROXY') continue;
    // Some servers repeat these as HTTP_*; the unprefixed variables below are authoritative.
    if (key === 'HTTP_CONTENT_TYPE' || key === 'HTTP_CONTENT_LENGTH') continue;
    // An empty header is dropped: lighttpd discards it while parsing, so no other
    // transport may show it either, or the same request would differ by server.
    if (value === '') continue;
    const name = key.slice(5).toLowerCase().replaceAll('_', '-');
    try {
      headers.append(name, key === 'HTTP_COOKIE' ? cookieHeader(value) : value);
    } catch {
      // A name or value Fetch cannot represent: drop the header, not the request.
    }
  }
  if (environ.CONTENT_TYPE) headers.set('content-type', environ.CONTENT_TYPE);
  const length = contentLength(environ);
  if (withBody && length !== undefined && !Number.isNaN(length)) headers.set('content-length', String(length));
  return headers;
}

/**
 * Wraps the transport's body source in a ReadableStream that stops at
 * CONTENT_LENGTH (a CGI script must not read past it) and errors with
 * RequestBodyTooLarge past the limit. Pull-based, so a slow app reads the
 * socket or pipe only as fast as it consumes: no unbounded buffering. The
 * source is opened on the first read, so "Expect: 100-continue" is answered
 * only when the app really reads the body.
 */
export function limitedBody(open: () => BodySource, length: number | undefined, limit: number): ReadableStream<Uint8Array> {
  let iterator: AsyncIterator<Uint8Array> | undefined;
  let received = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      iterator ??= open()[Symbol.asyncIterator]();
      if (length !== undefined && received >= length) {
        controller.close();
        return;
      }
      const next = await iterator.next();
      if (next.done) {
        controller.close();
        return;
      }
      let chunk = next.value;
      if (length !== undefined && received + chunk.byteLength > length) chunk = chunk.subarray(0, length - received);
      received += chunk.byteLength;
      if (received > limit) {
        controller.error(new RequestBodyTooLarge(limit));
        await iterator.return?.();
        return;
      }
      controller.enqueue(chunk);
    },
    async cancel() {
      await iterator?.return?.();
    },
  });
}

/**
 * Request.method's own normalisation (Fetch: the six standard methods are
 * upper-cased, others kept) and its refusals, applied here because the full
 * Request is built only when the app needs it.
 */
const NORMALIZED_METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT']);
const FORBIDDEN_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK']);

export function requestMethod(raw: string): string {
  if (NORMALIZED_METHODS.has(raw)) return raw;
  const upper = raw.toUpperCase();
  if (!TOKEN.test(raw)) throw new TypeError(`'${raw}' is not a valid HTTP method.`);
  if (FORBIDDEN_METHODS.has(upper)) throw new TypeError(`'${raw}' HTTP method is unsupported.`);
  return NORMALIZED_METHODS.has(upper) ? upper : raw;
}

/**
 * The TSGI context: plain fields, except `signal`, which exists only once
 * read (see request-signal.ts). Middleware derive new contexts with
 * deriveContext, which keeps that laziness.
 */
export class RequestContext implements TsgiContext {
  readonly scriptName: string;
  readonly pathInfo: string;
  readonly environ: Environ;
  readonly remoteAddr: string;
  readonly #signal: RequestSignal;

  constructor(scriptName: string, pathInfo: string, environ: Environ, remoteAddr: string, signal: RequestSignal) {
    this.scriptName = scriptName;
    this.pathInfo = pathInfo;
    this.environ = environ;
    this.remoteAddr = remoteAddr;
    this.#signal = signal;
  }

  get signal(): AbortSignal {
    return this.#signal.signal;
  }

  static requestSignal(ctx: TsgiContext): RequestSignal | undefined {
    return ctx instanceof RequestContext ? ctx.#signal : undefined;
  }
}

/** A context with some fields replaced; the signal stays the same (and stays lazy). */
export function deriveContext(ctx: TsgiContext, changes: Partial<Omit<TsgiContext, 'signal'>>): TsgiContext {
  const signal = RequestContext.requestSignal(ctx);
  if (!signal) return { ...ctx, ...changes };
  return new RequestContext(
    changes.scriptName ?? ctx.scriptName,
    changes.pathInfo ?? ctx.pathInfo,
    changes.environ ?? ctx.environ,
    changes.remoteAddr ?? ctx.remoteAddr,
    signal,
  );
}

/** The transport's abort signal as a RequestSignal (transports pass one; other callers may pass an AbortSignal). */
export function requestSignalFrom(signal: AbortSignal | RequestSignal | undefined): RequestSignal {
  if (signal instanceof RequestSignal) return signal;
  const lazy = new RequestSignal();
  if (signal?.aborted) lazy.abort(signal.reason);
  else signal?.addEventListener('abort', () => lazy.abort(signal.reason), { once: true });
  return lazy;
}

/**
 * REQUEST_URI in origin-form. A proxy-style absolute-form target
 * ("http://host/p?q", RFC 9112 section 3.2.2) reaches the app as Apache
 * passes it, while nginx and lighttpd pass only "/p?q": the app sees "/p?q"
 * in every mode (docs/http-policy.md). One character compared per request;
 * a copy only for the rare absolute-form target.
 */
function originFormTarget(environ: Environ): Environ {
  const uri = environ.REQUEST_URI;
  if (!uri || uri.charCodeAt(0) === 0x2f /* "/" */) return environ;
  return { ...environ, REQUEST_URI: requestTarget(environ) };
}

/**
 * Builds the Request and the TSGI context from CGI meta-variables.
 * Throws RequestBodyTooLarge when CONTENT_LENGTH already exceeds the limit,
 * and TypeError when the method or CONTENT_LENGTH cannot form a Request.
 * The Request is a TsgiRequest: its undici object is built on first need.
 */
export function requestFromEnviron(
  rawEnviron: Environ,
  openBody: (() => BodySource) | null,
  options: TranslateOptions = {},
): Translated {
  const environ = originFormTarget(withoutHttpoxy(rawEnviron));
  const limit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const signal = requestSignalFrom(options.signal);
  const method = requestMethod(environ.REQUEST_METHOD || 'GET');
  const withBody = openBody !== null && expectsBody(environ);
  const length = contentLength(environ);
  if (length !== undefined && Number.isNaN(length)) throw new TypeError(`invalid CONTENT_LENGTH: ${environ.CONTENT_LENGTH}`);
  if (withBody && length !== undefined && length > limit) throw new RequestBodyTooLarge(limit);

  const request = new TsgiRequest({ environ, method, withBody, contentLength: length, openBody, bodyLimit: limit, signal });
  const context = new RequestContext(
    normalizeScriptName(environ.SCRIPT_NAME),
    normalizePathInfo(environ.PATH_INFO),
    environ,
    environ.REMOTE_ADDR ?? '',
    signal,
  );
  return { request: request as unknown as Request, context };
}

/**
 * The same request with other CGI variables (a middleware's view, e.g. after
 * proxy-fix): still lazy, sharing the body and the signal. A Request that did
 * not come from this translator yields undefined; the caller builds one itself.
 */
export function requestWithEnviron(request: Request, environ: Environ): Request | undefined {
  const parts = TsgiRequest.partsOf(request);
  if (!parts) return undefined;
  return new TsgiRequest({ ...parts, environ: withoutHttpoxy(environ) }) as unknown as Request;
}
