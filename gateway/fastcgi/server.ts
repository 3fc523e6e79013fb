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
import { stopOnSignals } from '../stop-on-signals.ts';
import { removeStaleUnixSocket } from '../unix-socket.ts';
import type { TsgiApp } from '../types.ts';
import { DEFAULT_MAX_CONNS, FastCgiConnection, type FastCgiConnectionOptions, type RequestSlots } from './connection.ts';
import { inspectInheritedFd } from './inherited-socket.ts';

export const DEFAULT_CLOSE_TIMEOUT_MS = 10_000;

export interface FastCgiOptions extends FastCgiConnectionOptions {
  /** chmod for a unix socket we create, e.g. 0o660 so only the web server's group can connect. */
  socketMode?: number;
  /** How long close() waits for requests in flight before dropping their connections. */
  closeTimeoutMs?: number;
}

export interface FastCgiServer {
  readonly server: Server;
  readonly bind: Bind;
  /** The bound TCP address, or the socket path. */
  address(): AddressInfo | string | null;
  /** Requests in flight across all connections. */
  readonly activeRequests: number;
  readonly connections: number;
  /** Stops accepting, lets requests in flight finish, drops what is left after the timeout. */
  close(timeoutMs?: number): Promise<void>;
}

function defaultLog(line: string): void {
  process.stderr.write(`${line}\n`);
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
  const log = options.log ?? defaultLog;
  const slots: RequestSlots = { active: 0 };
  const connections = new Set<FastCgiConnection>();
  let closing = false;

  const server = createServer((socket) => {
    const connection = new FastCgiConnection(socket, app, slots, { ...options, log });
    connections.add(connection);
    void connection.closed.then(() => connections.delete(connection));
    if (closing) connection.closeWhenIdle();
  });
  // Over the limit, Node closes the new connection at once: the web server sees a refusal, not a hang.
  server.maxConnections = options.maxConns ?? DEFAULT_MAX_CONNS;
  server.on('drop', () => log(`fastcgi: refused a connection: ${server.maxConnections} connections (FCGI_MAX_CONNS) already open`));

  if (bind.kind === 'unix') await removeStaleUnixSocket(bind.path);
  await listen(server, bind);
  if (bind.kind === 'unix' && options.socketMode !== undefined) chmodSync(bind.path, options.socketMode);
  server.on('error', (error) => log(`fastcgi: server on ${formatBind(bind)}: ${error.message}`));

  let closed: Promise<void> | null = null;
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
    close(timeoutMs = options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS) {
      closed ??= new Promise<void>((resolve) => {
        closing = true;
        const stopped = new Promise<void>((done) => server.close(() => done()));
        for (const connection of connections) connection.closeWhenIdle();
        const timer = setTimeout(() => {
          if (connections.size > 0) log(`fastcgi: shutdown timeout; dropping ${connections.size} connection(s) with requests in flight`);
          for (const connection of connections) connection.destroy();
        }, timeoutMs);
        timer.unref();
        // The server's close callback and the sockets' close events race; wait for both.
        void stopped
          .then(() => Promise.all([...connections].map((connection) => connection.closed)))
          .then(() => {
            clearTimeout(timer);
            resolve();
          });
      });
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
  const server = await serveFastCgi(app, { kind: 'fd', fd }, options);
  stopOnSignals(() => server.close());
  return server;
}
