/**
 * The request/response cycle every transport shares, after wsgiref's
 * BaseHandler: translate the environment, call the app, turn what it returns
 * (or throws) into a status, headers and a body, and hand those to the
 * transport through a few hooks. CGI, FastCGI and HTTP implement only the hooks.
 *
 * The common case costs little (see docs/performance.md for the profile that
 * shaped it): the app is called synchronously, a deadline is registered only
 * when it returns a promise (one timer for all requests, ./deadline.ts), the
 * Request and the abort signal are built only if the app touches them
 * (./lazy-request.ts, ./request-signal.ts), and a body that is there at once
 * goes out in one write with its Content-Length (./response-body.ts).
 */
import { STATUS_CODES } from './status-codes.ts';
import { deadlineQueue } from './deadline.ts';
import { requestFromEnviron, requestSignalFrom, type BodySource, type TranslateOptions } from './environ.ts';
import { errorBody, errorResponse, RequestBodyTooLarge } from './errors.ts';
import { TOKEN } from './http-token.ts';
import { defaultLogger, type Logger } from './logger.ts';
import type { RequestSignal } from './request-signal.ts';
import { TsgiResponse } from './lazy-response.ts';
import { readBody, type ReadBody } from './response-body.ts';
import type { Environ, TsgiApp } from './types.ts';

export type HeaderList = Array<[name: string, value: string]>;

/** What a transport provides. Promises returned by `write` are awaited: that is the backpressure. */
export interface ResponseWriter {
  sendHead(status: number, headers: HeaderList): void | Promise<void>;
  write(chunk: Uint8Array): void | Promise<void>;
  /** The response is complete. */
  end(): void | Promise<void>;
  /**
   * Optional: the whole response at once (its Content-Length is in `headers`),
   * as one write. Without it the cycle calls sendHead, write and end.
   */
  sendWhole?(status: number, headers: HeaderList, body: Uint8Array): void | Promise<void>;
  /** The body failed after the head went out: the transport must make the truncation visible. */
  abort(error: unknown): void | Promise<void>;
  /**
   * Optional: the transport's own channel for a request's error text
   * (FCGI_STDERR for FastCGI). Without it the error goes to the logger.
   */
  logError?(message: string): void;
}

export interface HandleOptions extends TranslateOptions {
  /**
   * Milliseconds the app may take to return its Response; then the gateway
   * answers 504 itself and aborts ctx.signal. The web servers' own timeouts are
   * set higher, so this one answer, the same in every mode, is what clients see.
   */
  appTimeoutMs?: number;
  /** Where app errors are reported, rate-limited; the process's stderr logger by default. */
  logger?: Logger;
}

/** The default app timeout (APP_TIMEOUT in the images), equal in every mode. */
export const DEFAULT_APP_TIMEOUT_MS = 30_000;

class AppTimeout extends Error {
  constructor(ms: number) {
    super(`the app did not answer within ${ms} ms`);
    this.name = 'AppTimeout';
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

const UNSAFE_VALUE = /[\r\n\0]/;

export class InvalidResponseHeader extends Error {
  constructor(name: string) {
    super(`response header ${JSON.stringify(name)} has a name or value that cannot be written (CR, LF or NUL)`);
    this.name = 'InvalidResponseHeader';
  }
}

/**
 * The app's headers as the transport writes them: `fields` as Headers iterates
 * them (lowercase, set-cookie skipped here), then each set-cookie value.
 * Throws on anything that could split a response.
 */
function headerList(fields: Iterable<readonly [string, string]>, setCookies: readonly string[]): HeaderList {
  const list: HeaderList = [];
  for (const [name, value] of fields) {
    if (name === 'set-cookie' || HOP_BY_HOP.has(name)) continue;
    if (!TOKEN.test(name) || UNSAFE_VALUE.test(value)) throw new InvalidResponseHeader(name);
    list.push([name, value]);
  }
  for (const cookie of setCookies) {
    if (UNSAFE_VALUE.test(cookie)) throw new InvalidResponseHeader('set-cookie');
    list.push(['set-cookie', cookie]);
  }
  return list;
}

export function responseHeaders(response: Response): HeaderList {
  return headerList(response.headers, response.headers.getSetCookie());
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

interface Answer {
  status: number;
  headers: HeaderList;
  /**
   * The body of an untouched TsgiResponse, already whole (null: it has none).
   * For any other Response this is null and `response.body` is read.
   */
  whole: Uint8Array | null;
  response: Response | null;
}

const NO_BODY = new Uint8Array(0);

/**
 * What the transport writes for a Response. An untouched TsgiResponse
 * (./lazy-response.ts) gives its parts directly: no Headers, no stream.
 */
function answerFrom(response: Response): Answer {
  const parts = TsgiResponse.take(response);
  if (!parts) return { status: response.status, headers: responseHeaders(response), whole: null, response };
  const { body } = parts;
  const whole = body === null ? null : typeof body === 'string' ? Buffer.from(body) : body;
  return { status: parts.status, headers: headerList(parts.headers, parts.setCookies), whole, response: null };
}

/**
 * An app error, through the transport's channel or the logger. An app that
 * fails on every request must not flood the log: the first ones in a window
 * are written whole (stack included), the rest summed up by the logger.
 */
function reportAppError(options: HandleOptions, writer: ResponseWriter, message: () => string): void {
  const logger = options.logger ?? defaultLogger();
  if (!logger.admit('app-error')) return;
  if (writer.logError) writer.logError(message());
  else logger.write(message());
}

/** The gateway's own answer for what the app threw (or returned instead of a Response). */
function failure(error: unknown, environ: Environ, writer: ResponseWriter, options: HandleOptions): Answer {
  let response: Response;
  if (error instanceof RequestBodyTooLarge) {
    response = errorResponse(413);
  } else if (error instanceof AppTimeout) {
    reportAppError(options, writer, () => `tsgi: ${requestLine(environ)}: ${error.message}`);
    response = errorResponse(504);
  } else {
    reportAppError(options, writer, () => `tsgi: ${requestLine(environ)}: ${describe(error)}`);
    response = errorResponse(500);
  }
  return answerFrom(response);
}

function answer(result: unknown, environ: Environ, writer: ResponseWriter, options: HandleOptions): Answer {
  try {
    // TsgiResponse first: reading the global Response loads undici (a CGI process may never need it).
    if (!(result instanceof TsgiResponse || result instanceof Response)) throw new TypeError(`the app returned ${typeof result}, not a Response`);
    return answerFrom(result as Response);
  } catch (error) {
    return failure(error, environ, writer, options);
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

/**
 * Calls the app. A synchronous answer is used as it is; a promise gets a
 * deadline, after which the gateway answers 504 and aborts the request's signal.
 */
function callApp(
  app: TsgiApp,
  environ: Environ,
  openBody: (() => BodySource) | null,
  options: HandleOptions,
  signal: RequestSignal,
  writer: ResponseWriter,
): Answer | Promise<Answer> {
  let result: unknown;
  try {
    const { request, context } = requestFromEnviron(environ, openBody, { bodyLimit: options.bodyLimit, signal });
    result = app(request, context);
  } catch (error) {
    return failure(error, environ, writer, options);
  }
  if (result instanceof TsgiResponse || !isThenable(result)) return answer(result, environ, writer, options);
  const ms = options.appTimeoutMs ?? DEFAULT_APP_TIMEOUT_MS;
  return new Promise<Answer>((resolve) => {
    const deadline = deadlineQueue(ms).add(() => {
      const error = new AppTimeout(ms);
      signal.abort(error);
      resolve(failure(error, environ, writer, options));
    });
    result.then(
      (response) => {
        deadline.cancel();
        resolve(answer(response, environ, writer, options));
      },
      (error: unknown) => {
        deadline.cancel();
        resolve(failure(error, environ, writer, options));
      },
    );
  });
}

/** Head and body in one go, through the transport's sendWhole when it has one. */
async function sendWhole(writer: ResponseWriter, status: number, headers: HeaderList, body: Uint8Array): Promise<void> {
  if (writer.sendWhole) return writer.sendWhole(status, headers, body);
  await writer.sendHead(status, headers);
  if (body.byteLength > 0) await writer.write(body);
  await writer.end();
}

/** Runs one request through the app and out through the writer. Never throws. */
export async function handleRequest(
  app: TsgiApp,
  environ: Environ,
  openBody: (() => BodySource) | null,
  writer: ResponseWriter,
  options: HandleOptions = {},
): Promise<void> {
  const signal = requestSignalFrom(options.signal);
  const called = callApp(app, environ, openBody, options, signal, writer);
  const { status, headers, whole, response } = called instanceof Promise ? await called : called;
  const method = (environ.REQUEST_METHOD ?? 'GET').toUpperCase();
  const declared = declaredLength(headers);
  let headSent = false;
  try {
    const source = response?.body ?? null;
    if (bodyless(method, status) || (whole === null && source === null)) {
      await source?.cancel();
      if (!bodyless(method, status) && declared === undefined) headers.push(['content-length', '0']);
      headSent = true;
      await sendWhole(writer, status, headers, NO_BODY);
      return;
    }
    const body: ReadBody = whole !== null ? { whole: true, bytes: whole } : await readBody(source);
    if (body.whole && (declared === undefined || declared === body.bytes.byteLength)) {
      if (declared === undefined) headers.push(['content-length', String(body.bytes.byteLength)]);
      headSent = true;
      await sendWhole(writer, status, headers, body.bytes);
      return;
    }
    headSent = true;
    await writer.sendHead(status, headers);
    // A streamed body: from here on the client going away must stop the app's stream.
    const stopped = signal.signal;
    let sent = 0;
    const send = async (chunk: Uint8Array) => {
      if (declared !== undefined && sent + chunk.byteLength > declared) throw new ContentLengthMismatch(declared, 'more');
      sent += chunk.byteLength;
      if (chunk.byteLength > 0) await writer.write(chunk);
    };
    if (body.whole) {
      await send(body.bytes);
    } else {
      for (const chunk of body.read) await send(chunk);
      let next = body.pending ?? body.reader.read();
      for (;;) {
        const { done, value } = await next;
        if (done || stopped.aborted) break;
        await send(value);
        next = body.reader.read();
      }
      if (stopped.aborted) await body.reader.cancel().catch(() => {});
    }
    if (declared !== undefined && sent < declared && !stopped.aborted) throw new ContentLengthMismatch(declared, 'fewer');
    await writer.end();
  } catch (error) {
    if (!headSent) {
      // The body failed before anything was sent: a clean 500 is still possible.
      const fallback = failure(error, environ, writer, options);
      const bytes = Buffer.from(errorBody(fallback.status));
      fallback.headers.push(['content-length', String(bytes.byteLength)]);
      await sendWhole(writer, fallback.status, fallback.headers, bytes);
      return;
    }
    reportAppError(options, writer, () => `tsgi: response body failed after the head was sent: ${describe(error)}`);
    await response?.body?.cancel().catch(() => {});
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
