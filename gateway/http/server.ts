/**
 * The HTTP transport: node:http -> CGI meta-variables (./environ.ts) -> the
 * shared request cycle (gateway/handler.ts) -> a ServerResponse. Used alone
 * (serveHttp in one process) and by each pre-fork worker (./worker.ts).
 */
import cluster from 'node:cluster';
import { chmod } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Server as NetServer } from 'node:net';
import { formatBind, listenOptions, type Bind } from '../bind.ts';
import type { BodySource } from '../environ.ts';
import { errorBody } from '../errors.ts';
import { DEFAULT_LINGER_MS, stopGracefully, type Drainable, type GracefulStopResult } from '../graceful-stop.ts';
import { handleRequest, type HandleOptions, type HeaderList, type ResponseWriter } from '../handler.ts';
import { defaultLogger, toLogger, type Logger, type LogSink } from '../logger.ts';
import { DEFAULT_GRACEFUL_TIMEOUT_MS, DEFAULT_SOCKET_MODE } from '../settings.ts';
import { RequestSignal } from '../request-signal.ts';
import type { TsgiApp } from '../types.ts';
import { environFromIncoming, InvalidRequestTarget, type HttpEnvironOptions } from './environ.ts';
import { removeStaleUnixSocket } from '../unix-socket.ts';

/**
 * Connection limits, in milliseconds, set explicitly rather than inherited
 * from whatever the Node version defaults to.
 */
export const DEFAULT_KEEP_ALIVE_TIMEOUT = 5_000;
export const DEFAULT_HEADERS_TIMEOUT = 60_000;
export const DEFAULT_REQUEST_TIMEOUT = 300_000;

export interface HttpServerOptions extends Omit<HandleOptions, 'signal' | 'logger'>, HttpEnvironOptions {
  /** Where app errors and bad requests go (rate-limited); stderr by default. A plain sink is wrapped in a Logger. */
  log?: Logger | LogSink;
  /** How long an idle keep-alive connection stays open (ms). nginx's upstream keepalive_timeout must be shorter. */
  keepAliveTimeout?: number;
  /** Time allowed to receive the complete request head (ms); slowloris protection. */
  headersTimeout?: number;
  /** Time allowed to receive the complete request, body included (ms); 0 disables. */
  requestTimeout?: number;
  /** Called after every request's response is finished or abandoned (the pre-fork worker counts with it). */
  onRequestDone?: () => void;
}

export interface ServeHttpOptions extends HttpServerOptions {
  /** chmod for a unix socket we create: only the web server's group may connect. */
  socketMode?: number;
}

/** The options every request of one server shares, with the logger made once. */
interface ServerContext extends HttpServerOptions {
  logger: Logger;
}

/** Servers that are shutting down: their responses carry Connection: close. */
const draining = new WeakSet<Server>();

/** Resolves when the socket can take more data or is gone (a 'drain' that never comes must not hang us). */
function writable(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

function ignoreErrors(): void {}

/**
 * The hooks of the shared cycle for one node:http response. A class, not a
 * closure per request: its methods live once on the prototype.
 */
class HttpResponseWriter implements ResponseWriter {
  readonly #server: Server;
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  /** Set by bodySource() once the app starts reading the request body. */
  bodyOpened = false;

  constructor(server: Server, req: IncomingMessage, res: ServerResponse) {
    this.#server = server;
    this.#req = req;
    this.#res = res;
  }

  /** The app's headers as node:http's flat [name, value, ...] list, which keeps repeated ones (Set-Cookie) as they are. */
  #flatHeaders(headers: HeaderList): string[] {
    const flat: string[] = [];
    for (const [name, value] of headers) flat.push(name, value);
    // A request body the app started but did not finish reading (a 413 on a
    // chunked upload) leaves bytes on the connection that are not a next
    // request: close it, and read them away meanwhile so the close is a FIN,
    // not a reset that could destroy the response before the client reads it.
    const unreadBody = this.bodyOpened && !this.#req.complete;
    if (unreadBody || draining.has(this.#server)) flat.push('connection', 'close');
    if (unreadBody) this.#req.resume();
    return flat;
  }

  sendWhole(status: number, headers: HeaderList, body: Uint8Array): void {
    const res = this.#res;
    if (res.destroyed) return;
    // writeHead + end(body): node:http sends head and body in one write.
    res.writeHead(status, this.#flatHeaders(headers));
    res.end(body);
  }

  sendHead(status: number, headers: HeaderList): void {
    const res = this.#res;
    if (res.destroyed) return;
    // A streamed body can race a client reset; without a listener that error would crash the process.
    res.on('error', ignoreErrors);
    res.writeHead(status, this.#flatHeaders(headers));
  }

  async write(chunk: Uint8Array): Promise<void> {
    const res = this.#res;
    if (res.destroyed) return;
    if (!res.write(chunk)) await writable(res);
  }

  end(): void {
    if (!this.#res.destroyed) this.#res.end();
  }

  abort(): void {
    // Closing the connection skips the terminating chunk (or leaves the
    // Content-Length short): the client sees a truncated body, not a complete
    // one. End the socket rather than destroy the response: node:http keeps
    // the first writes corked until the next tick, and destroying now would
    // throw away the head and chunks already written.
    const socket = this.#res.socket;
    if (socket && !socket.destroyed) socket.destroySoon();
    else this.#res.destroy();
  }
  // No logError: the handler reports app errors to the server's logger.
}

/**
 * The request body, read only when the app asks for it. The iterator must not
 * destroy the request when the translator stops early (over the limit):
 * destroying an unfinished IncomingMessage destroys the socket, and the 413
 * could never be sent.
 */
function bodySource(req: IncomingMessage, res: ServerResponse, writer: HttpResponseWriter, expectContinue: boolean): () => BodySource {
  return () => {
    writer.bodyOpened = true;
    // "Expect: 100-continue": ask for the body only once the app reads it, so a
    // request rejected before that (413 by Content-Length) never uploads it.
    if (expectContinue && !res.headersSent) res.writeContinue();
    return { [Symbol.asyncIterator]: () => req.iterator({ destroyOnReturn: false }) };
  };
}

/**
 * The request's abort signal, watched only once somebody reads it: a 'close'
 * listener per response costs, and most apps never look.
 */
function watchedSignal(res: ServerResponse): RequestSignal {
  const signal: RequestSignal = new RequestSignal(() => {
    if (res.destroyed && !res.writableFinished) signal.abort();
    else res.once('close', () => { if (!res.writableFinished) signal.abort(); });
  });
  return signal;
}

function badRequest(res: ServerResponse): void {
  const body = errorBody(400);
  res.writeHead(400, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    connection: 'close',
  });
  res.end(body);
}

async function serve(
  app: TsgiApp,
  server: Server,
  options: ServerContext,
  req: IncomingMessage,
  res: ServerResponse,
  expectContinue: boolean,
): Promise<void> {
  try {
    let environ: Record<string, string>;
    try {
      environ = environFromIncoming(req, options);
    } catch (error) {
      if (!(error instanceof InvalidRequestTarget)) throw error;
      options.logger.limited('bad-request', () => `tsgi: 400 Bad Request: ${error.message}`);
      badRequest(res);
      return;
    }
    const writer = new HttpResponseWriter(server, req, res);
    await handleRequest(app, environ, bodySource(req, res, writer, expectContinue), writer, {
      bodyLimit: options.bodyLimit,
      appTimeoutMs: options.appTimeoutMs,
      signal: watchedSignal(res),
      logger: options.logger,
    });
  } catch (error) {
    // handleRequest never throws; this is a bug in the transport itself.
    options.logger.write(`tsgi: http transport failed: ${error instanceof Error ? error.stack : String(error)}`);
    res.destroy();
  } finally {
    options.onRequestDone?.();
  }
}

/** An http.Server that runs every request through the TSGI app. Not listening yet. */
export function createHttpServer(app: TsgiApp, httpOptions: HttpServerOptions = {}): Server {
  const options: ServerContext = { ...httpOptions, logger: toLogger(httpOptions.log) };
  const server = createServer();
  server.keepAliveTimeout = options.keepAliveTimeout ?? DEFAULT_KEEP_ALIVE_TIMEOUT;
  server.headersTimeout = options.headersTimeout ?? DEFAULT_HEADERS_TIMEOUT;
  server.requestTimeout = options.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT;
  server.on('request', (req: IncomingMessage, res: ServerResponse) => void serve(app, server, options, req, res, false));
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => void serve(app, server, options, req, res, true));
  return server;
}

function listen(server: Server, bind: Bind): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => {
      server.off('listening', onListening);
      reject(new Error(`cannot listen on ${formatBind(bind)}: ${error.message}`, { cause: error }));
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(listenOptions(bind));
  });
}

/**
 * Creates the server and binds it. In a pre-fork worker the cluster primary
 * owns the socket (it removes a stale unix socket and applies the mode), so
 * that part happens only when this process is the primary.
 */
export async function serveHttp(app: TsgiApp, bind: Bind, options: ServeHttpOptions = {}): Promise<Server> {
  const server = createHttpServer(app, options);
  const ownsSocket = bind.kind === 'unix' && cluster.isPrimary;
  if (ownsSocket) await removeStaleUnixSocket(bind.path);
  await listen(server, bind);
  if (ownsSocket) await chmod(bind.path, options.socketMode ?? DEFAULT_SOCKET_MODE);
  return server;
}

/** What the graceful-stop routine needs from a node:http server. */
function drainable(server: Server): Drainable {
  return {
    stopAccepting: () => {
      // From now on every response says Connection: close.
      draining.add(server);
      // net.Server's close, not http.Server's: that one also closes the idle
      // keep-alive connections at once, which the linger is there to avoid.
      NetServer.prototype.close.call(server);
    },
    openConnections: () => new Promise((resolve) => server.getConnections((error, count) => resolve(error ? 0 : count))),
    closeIdleConnections: () => server.closeIdleConnections(),
    destroyConnections: () => server.closeAllConnections(),
  };
}

export interface CloseOptions {
  /** The deadline (ms): the graceful-timeout setting. */
  timeoutMs?: number;
  /** How long idle keep-alive connections may still bring a request, answered with Connection: close (ms). */
  lingerMs?: number;
  logger?: Logger;
}

/** The graceful stop (../graceful-stop.ts) of one HTTP server: single process or pre-fork worker alike. */
export function closeGracefully(server: Server, options: CloseOptions = {}): Promise<GracefulStopResult> {
  return stopGracefully(drainable(server), {
    timeoutMs: options.timeoutMs ?? DEFAULT_GRACEFUL_TIMEOUT_MS,
    lingerMs: options.lingerMs ?? DEFAULT_LINGER_MS,
    logger: options.logger ?? defaultLogger(),
    what: 'http',
  });
}
