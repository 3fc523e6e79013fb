/**
 * The request/response cycle every transport shares, after wsgiref's
 * BaseHandler: translate the environment, call the app, turn what it returns
 * (or throws) into a status, headers and a body, and hand those to the
 * transport through a few hooks. CGI, FastCGI and HTTP implement only the hooks.
 */
import { STATUS_CODES } from 'node:http';
import { requestFromEnviron, type BodySource, type TranslateOptions } from './environ.ts';
import { errorResponse, RequestBodyTooLarge } from './errors.ts';
import type { Environ, TsgiApp } from './types.ts';

export type HeaderList = Array<[name: string, value: string]>;

/** What a transport provides. Promises returned by `write` are awaited: that is the backpressure. */
export interface ResponseWriter {
  sendHead(status: number, headers: HeaderList): void | Promise<void>;
  write(chunk: Uint8Array): void | Promise<void>;
  /** The response is complete. */
  end(): void | Promise<void>;
  /** The body failed after the head went out: the transport must make the truncation visible. */
  abort(error: unknown): void | Promise<void>;
  /** Where stack traces go: stderr for CGI and HTTP, FCGI_STDERR for FastCGI. */
  logError(message: string): void;
}

export interface HandleOptions extends TranslateOptions {
  /**
   * Milliseconds the app may take to return its Response; then the gateway
   * answers 504 itself and aborts ctx.signal. The web servers' own timeouts are
   * set higher, so this one answer, the same in every mode, is what clients see.
   */
  appTimeoutMs?: number;
}

/** The default app timeout (APP_TIMEOUT in the images), equal in every mode. */
export const DEFAULT_APP_TIMEOUT_MS = 30_000;

class AppTimeout extends Error {
  constructor(ms: number) {
    super(`the app did not answer within ${ms} ms`);
    this.name = 'AppTimeout';
  }
}

/** Resolves with the app's answer, or rejects with AppTimeout (aborting `deadline`) after `ms`. */
async function withDeadline<T>(work: () => T | Promise<T>, ms: number, deadline: AbortController): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new AppTimeout(ms);
      deadline.abort(error);
      reject(error);
    }, ms);
  });
  try {
    return await Promise.race([Promise.resolve().then(work), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Framing belongs to the transport and the web server, never to the app: a
 * CGI script that prints Transfer-Encoding or Connection breaks the server's
 * own framing (RFC 3875 section 6.3.4; RFC 9110 section 7.6.1).
 */
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'status',
]);

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const UNSAFE_VALUE = /[\r\n\0]/;

export class InvalidResponseHeader extends Error {
  constructor(name: string) {
    super(`response header ${JSON.stringify(name)} has a name or value that cannot be written (CR, LF or NUL)`);
    this.name = 'InvalidResponseHeader';
  }
}

/** The app's headers as the transport writes them; throws on anything that could split a response. */
export function responseHeaders(response: Response): HeaderList {
  const list: HeaderList = [];
  for (const [name, value] of response.headers) {
    if (name === 'set-cookie' || HOP_BY_HOP.has(name)) continue;
    if (!TOKEN.test(name) || UNSAFE_VALUE.test(value)) throw new InvalidResponseHeader(name);
    list.push([name, value]);
  }
  for (const cookie of response.headers.getSetCookie()) {
    if (UNSAFE_VALUE.test(cookie)) throw new InvalidResponseHeader('set-cookie');
    list.push(['set-cookie', cookie]);
  }
  return list;
}

export function reasonPhrase(status: number): string {
  return STATUS_CODES[status] ?? 'Unknown';
}

function bodyless(method: string, status: number): boolean {
  return method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200);
}

/** "GET /yourapplication/error?x=1": which request a logged error belongs to. */
function requestLine(environ: Environ): string {
  return `${environ.REQUEST_METHOD ?? 'GET'} ${environ.REQUEST_URI ?? environ.PATH_INFO ?? ''}`;
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? String(error)) : String(error);
}

/** Calls the app, turning a throw into the gateway's fixed 500 (413 for an oversized body). */
async function callApp(
  app: TsgiApp,
  environ: Environ,
  openBody: (() => BodySource) | null,
  options: HandleOptions,
  writer: ResponseWriter,
): Promise<{ response: Response; headers: HeaderList }> {
  let response: Response;
  const deadline = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, deadline.signal]) : deadline.signal;
  try {
    const { request, context } = requestFromEnviron(environ, openBody, { ...options, signal });
    response = await withDeadline(() => app(request, context), options.appTimeoutMs ?? DEFAULT_APP_TIMEOUT_MS, deadline);
    if (!(response instanceof Response)) throw new TypeError(`the app returned ${typeof response}, not a Response`);
    return { response, headers: responseHeaders(response) };
  } catch (error) {
    if (error instanceof RequestBodyTooLarge) {
      response = errorResponse(413);
    } else if (error instanceof AppTimeout) {
      writer.logError(`tsgi: ${requestLine(environ)}: ${error.message}`);
      response = errorResponse(504);
    } else {
      writer.logError(`tsgi: ${requestLine(environ)}: ${describe(error)}`);
      response = errorResponse(500);
    }
    return { response, headers: responseHeaders(response) };
  }
}

/** Runs one request through the app and out through the writer. Never throws. */
export async function handleRequest(
  app: TsgiApp,
  environ: Environ,
  openBody: (() => BodySource) | null,
  writer: ResponseWriter,
  options: HandleOptions = {},
): Promise<void> {
  const { response, headers } = await callApp(app, environ, openBody, options, writer);
  const method = (environ.REQUEST_METHOD ?? 'GET').toUpperCase();
  const declared = declaredLength(headers);
  try {
    await writer.sendHead(response.status, headers);
    if (response.body && !bodyless(method, response.status)) {
      let sent = 0;
      for await (const chunk of response.body) {
        if (options.signal?.aborted) break;
        if (declared !== undefined && sent + chunk.byteLength > declared) throw new ContentLengthMismatch(declared, 'more');
        sent += chunk.byteLength;
        if (chunk.byteLength > 0) await writer.write(chunk);
      }
      if (declared !== undefined && sent < declared && !options.signal?.aborted) throw new ContentLengthMismatch(declared, 'fewer');
    } else {
      await response.body?.cancel();
    }
    await writer.end();
  } catch (error) {
    writer.logError(`tsgi: response body failed after the head was sent: ${describe(error)}`);
    await response.body?.cancel().catch(() => {});
    await writer.abort(error);
  }
}

/**
 * The app's own Content-Length. Servers pass it on (Apache only with
 * ap_trust_cgilike_cl, which our configs set), so a wrong one would desync the
 * client's connection: the gateway never sends more, and a body that ends
 * short is aborted so the truncation is visible.
 */
function declaredLength(headers: HeaderList): number | undefined {
  const value = headers.find(([name]) => name === 'content-length')?.[1];
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

class ContentLengthMismatch extends Error {
  constructor(declared: number, what: 'more' | 'fewer') {
    super(`the app declared Content-Length ${declared} but its body has ${what} bytes`);
    this.name = 'ContentLengthMismatch';
  }
}
