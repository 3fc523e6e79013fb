/**
 * The HTTP transport: a request head (./wire.ts) -> CGI meta-variables
 * (./environ.ts) -> the shared request cycle (gateway/handler.ts) -> the
 * response, one connection at a time (./connection.ts). Used alone
 * (serveHttp in one process) and by each pre-fork worker (./worker.ts).
 */
import cluster from 'node:cluster';
import { chmod } from 'node:fs/promises';
import { Server as NetServer, type Socket } from 'node:net';
import { formatBind, listenOptions, type Bind } from '../bind.ts';
import { DEFAULT_LINGER_MS, stopGracefully, type Drainable, type GracefulStopResult } from '../graceful-stop.ts';
import type { HandleOptions } from '../handler.ts';
import { defaultLogger, toLogger, type Logger, type LogSink } from '../logger.ts';
import { DEFAULT_GRACEFUL_TIMEOUT_MS, DEFAULT_SOCKET_MODE } from '../settings.ts';
import type { TsgiApp } from '../types.ts';
import { HttpConnection, keepAliveFields, type ConnectionContext } from './connection.ts';
import type { HttpEnvironOptions } from './environ.ts';
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

/** How often the server enforces its connections' timeouts (ms): the granularity of every HTTP timeout. */
const TIMEOUT_CHECK_MS = 1_000;

/**
 * The HTTP/1.1 server: a net.Server whose connections speak HTTP through
 * ./connection.ts. Keeps node:http.Server's management surface
 * (closeIdleConnections, closeAllConnections, getConnections) for the
 * graceful stop and the tests.
 */
export class HttpServer extends NetServer {
  readonly #connections = new Set<HttpConnection>();
  readonly #context: { -readonly [K in keyof ConnectionContext]: ConnectionContext[K] };
  #timer: NodeJS.Timeout | null = null;

  constructor(app: TsgiApp, options: HttpServerOptions = {}) {
    super();
    const keepAliveTimeout = options.keepAliveTimeout ?? DEFAULT_KEEP_ALIVE_TIMEOUT;
    this.#context = {
      app,
      logger: toLogger(options.log),
      bodyLimit: options.bodyLimit,
      appTimeoutMs: options.appTimeoutMs,
      serverSoftware: options.serverSoftware,
      keepAliveTimeout,
      keepAliveFields: keepAliveFields(keepAliveTimeout),
      headersTimeout: options.headersTimeout ?? DEFAULT_HEADERS_TIMEOUT,
      requestTimeout: options.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT,
      onRequestDone: options.onRequestDone,
      draining: false,
    };
    this.on('connection', (socket: Socket) => {
      const connection = new HttpConnection(socket, this.#context, (closed) => this.#connections.delete(closed));
      this.#connections.add(connection);
    });
    this.on('listening', () => {
      this.#timer ??= setInterval(() => this.#checkTimeouts(), TIMEOUT_CHECK_MS).unref();
    });
    this.on('close', () => {
      if (this.#timer) clearInterval(this.#timer);
      this.#timer = null;
    });
  }

  #checkTimeouts(): void {
    const now = Date.now();
    for (const connection of this.#connections) connection.checkTimeouts(now);
  }

  /** From now on every response says Connection: close, and the connection ends after it. */
  startDraining(): void {
    this.#context.draining = true;
  }

  /** Connections open now (requests in flight or kept alive). */
  get openConnections(): number {
    return this.#connections.size;
  }

  /** Closes the connections that have no request in flight (as http.Server's method of that name). */
  closeIdleConnections(): void {
    for (const connection of this.#connections) connection.closeIfIdle();
  }

  /** Drops every connection, requests in flight included. */
  closeAllConnections(): void {
    for (const connection of this.#connections) connection.socket.destroy();
  }
}

/** A server that runs every request through the TSGI app. Not listening yet. */
export function createHttpServer(app: TsgiApp, options: HttpServerOptions = {}): HttpServer {
  return new HttpServer(app, options);
}

function listen(server: HttpServer, bind: Bind): Promise<void> {
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
export async function serveHttp(app: TsgiApp, bind: Bind, options: ServeHttpOptions = {}): Promise<HttpServer> {
  const server = createHttpServer(app, options);
  const ownsSocket = bind.kind === 'unix' && cluster.isPrimary;
  if (ownsSocket) await removeStaleUnixSocket(bind.path);
  await listen(server, bind);
  if (ownsSocket) await chmod(bind.path, options.socketMode ?? DEFAULT_SOCKET_MODE);
  return server;
}

/** What the graceful-stop routine needs from the HTTP server. */
function drainable(server: HttpServer): Drainable {
  return {
    stopAccepting: () => {
      server.startDraining();
      // Stops listening only: idle keep-alive connections may still bring a
      // request during the linger (answered with Connection: close).
      server.close();
    },
    openConnections: () => server.openConnections,
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
export function closeGracefully(server: HttpServer, options: CloseOptions = {}): Promise<GracefulStopResult> {
  return stopGracefully(drainable(server), {
    timeoutMs: options.timeoutMs ?? DEFAULT_GRACEFUL_TIMEOUT_MS,
    lingerMs: options.lingerMs ?? DEFAULT_LINGER_MS,
    logger: options.logger ?? defaultLogger(),
    what: 'http',
  });
}
