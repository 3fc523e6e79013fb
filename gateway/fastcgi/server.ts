/**
 * The FastCGI server: a net.Server on a unix socket, a TCP port or a
 * listening socket inherited from a process manager, handing each connection
 * to a FastCgiConnection. Plus flup's start-up rule, runFastCgiOrCgi: the same
 * .fcgi entry file serves FastCGI when started by a process manager and one
 * CGI request when started as a CGI script.
 */
import { chmodSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { formatBind, listenOptions, type Bind } from '../bind.ts';
import { runCgi } from '../cgi.ts';
import { stopGracefully, type Drainable, type GracefulStopResult } from '../graceful-stop.ts';
import { toLogger } from '../logger.ts';
import { DEFAULT_GRACEFUL_TIMEOUT_MS, DEFAULT_SOCKET_MODE } from '../settings.ts';
import { stopOnSignals } from '../stop-on-signals.ts';
import { removeStaleUnixSocket } from '../unix-socket.ts';
import type { TsgiApp } from '../types.ts';
import { DEFAULT_MAX_CONNS, FastCgiConnection, type FastCgiConnectionOptions, type RequestSlots } from './connection.ts';
import { inspectInheritedFd } from './inherited-socket.ts';

export interface FastCgiOptions extends FastCgiConnectionOptions {
  /** chmod for a unix socket we create: only the web server's group may connect. */
  socketMode?: number;
  /** How long close() lets requests in flight finish before dropping their connections (ms): --graceful-timeout. */
  gracefulTimeoutMs?: number;
}

export interface FastCgiServer {
  readonly server: Server;
  readonly bind: Bind;
  /** The bound TCP address, or the socket path. */
  address(): AddressInfo | string | null;
  /** Requests in flight across all connections. */
  readonly activeRequests: number;
  readonly connections: number;
  /** The graceful stop (../graceful-stop.ts): stop accepting, let requests in flight finish, drop what is left at the deadline. */
  close(timeoutMs?: number): Promise<GracefulStopResult>;
}

/**
 * How a stopping server closes its listening socket. Closing it resets every
 * connection still waiting in its accept queue, and a web server that has
 * just connected (mod_fcgid hands a waiting request to a process the moment
 * it is free, also while its process manager is stopping that process on a
 * graceful restart) reports that as a failed request: 500 "End of script
 * output before headers". So the queue is emptied first: connections keep
 * being accepted, and served, until none has come for BACKLOG_QUIET_MS, or
 * for at most BACKLOG_DRAIN_MAX_MS while they keep coming.
 */
const BACKLOG_QUIET_MS = 20;
const BACKLOG_DRAIN_MAX_MS = 250;

function closeOnceBacklogIsEmpty(server: Server, lastConnectionAt: () => number): Promise<void> {
  const started = performance.now();
  return new Promise((resolve) => {
    const check = (): void => {
      const now = performance.now();
      if (now - lastConnectionAt() >= BACKLOG_QUIET_MS || now - started >= BACKLOG_DRAIN_MAX_MS) {
        server.close();
        resolve();
      } else {
        setTimeout(check, BACKLOG_QUIET_MS);
      }
    };
    setTimeout(check, BACKLOG_QUIET_MS);
  });
}

function listen(server: Server, bind: Bind): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    server.listen(listenOptions(bind), () => {
      server.off('error', onError);
      resolve();
    });
  });
}

export async function serveFastCgi(app: TsgiApp, bind: Bind, options: FastCgiOptions = {}): Promise<FastCgiServer> {
  const logger = toLogger(options.log);
  const slots: RequestSlots = { active: 0 };
  const connections = new Set<FastCgiConnection>();
  let closing = false;
  let lastConnectionAt = 0;

  // One options object for every connection: under lighttpd and mod_fcgid (no
  // FCGI_KEEP_CONN) a connection is a request, so nothing per connection is spared.
  const connectionOptions: FastCgiConnectionOptions = { ...options, log: logger, onClose: (connection) => connections.delete(connection) };
  const server = createServer((socket) => {
    const connection = new FastCgiConnection(socket, app, slots, connectionOptions);
    connections.add(connection);
    // Accepted while the accept queue drains (closeOnceBacklogIsEmpty): its request is served, then it closes.
    if (closing) {
      lastConnectionAt = performance.now();
      connection.closeAfterResponse();
    }
  });
  // Over the limit, Node closes the new connection at once: the web server sees a refusal, not a hang.
  server.maxConnections = options.maxConns ?? DEFAULT_MAX_CONNS;
  server.on('drop', () => logger.limited('refused-connection', () => `fastcgi: refused a connection: ${server.maxConnections} connections (FCGI_MAX_CONNS) already open`));

  if (bind.kind === 'unix') await removeStaleUnixSocket(bind.path);
  await listen(server, bind);
  if (bind.kind === 'unix') chmodSync(bind.path, options.socketMode ?? DEFAULT_SOCKET_MODE);
  server.on('error', (error) => logger.write(`fastcgi: server on ${formatBind(bind)}: ${error.message}`));

  const drainable: Drainable = {
    stopAccepting: () => {
      closing = true;
      lastConnectionAt = performance.now();
      for (const connection of connections) connection.closeAfterResponse();
      return closeOnceBacklogIsEmpty(server, () => lastConnectionAt);
    },
    openConnections: () => connections.size,
    closeIdleConnections: () => {
      for (const connection of connections) connection.closeWhenIdle();
    },
    destroyConnections: () => {
      for (const connection of connections) connection.destroy();
    },
  };
  let closed: Promise<GracefulStopResult> | null = null;
  return {
    server,
    bind,
    address: () => server.address(),
    get activeRequests() {
      return slots.active;
    },
    get connections() {
      return connections.size;
    },
    close(timeoutMs = options.gracefulTimeoutMs ?? DEFAULT_GRACEFUL_TIMEOUT_MS) {
      closed ??= stopGracefully(drainable, { timeoutMs, logger, what: 'fastcgi' });
      return closed;
    },
  };
}

export interface FastCgiOrCgiOptions extends FastCgiOptions {
  /** The inherited descriptor to look at; FastCGI's is 0 (FCGI_LISTENSOCK_FILENO). */
  fd?: number;
}

/**
 * flup's rule: fd 0 a listening socket means a process manager started us
 * (mod_fcgid, lighttpd bin-path, spawn-fcgi, supervisord fcgi-program):
 * serve FastCGI on it until SIGTERM, which those managers send. Anything else
 * (a pipe, a file, mod_cgid's connected socket) means a web server ran us as
 * a CGI script: serve that one request and exit.
 * Resolves with the server in FastCGI mode; in CGI mode the process exits.
 */
export async function runFastCgiOrCgi(app: TsgiApp, options: FastCgiOrCgiOptions = {}): Promise<FastCgiServer | null> {
  const fd = options.fd ?? 0;
  if (inspectInheritedFd(fd) !== 'listening-socket') {
    await runCgi(app, options);
    return null;
  }
  const logger = toLogger(options.log);
  const server = await serveFastCgi(app, { kind: 'fd', fd }, { ...options, log: logger });
  stopOnSignals(() => server.close(), logger);
  return server;
}
