/**
 * A pre-fork worker: the process ./prefork.ts forks with node:cluster. It
 * imports the app module, serves it on the shared bind (cluster hands the
 * primary's listening socket around), heartbeats so the primary can tell a
 * blocked event loop from a busy one, counts requests, asks to be retired at
 * max-requests and exits gracefully on SIGTERM.
 *
 * Importing this module does nothing unless it runs as a cluster worker
 * started by the primary (TSGI_PREFORK_WORKER in the environment), so the
 * primary and the CLI can import its exports.
 */
import cluster from 'node:cluster';
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Server } from 'node:http';
import type { Bind } from '../bind.ts';
import type { TsgiApp } from '../types.ts';
import { closeGracefully, serveHttp, type ServeHttpOptions } from './server.ts';

/** The environment variable carrying the worker's configuration (JSON). */
export const WORKER_CONFIG_ENV = 'TSGI_PREFORK_WORKER';

/** gunicorn's WORKER_BOOT_ERROR: the app cannot be imported or the bind fails. Retrying will not help. */
export const BOOT_ERROR_EXIT_CODE = 3;

export interface WorkerConfig {
  /** An import specifier: a file URL (the primary resolves paths) or a package name. */
  appModule: string;
  bind: Bind;
  server: Omit<ServeHttpOptions, 'onRequestDone' | 'socketMode'>;
  /** Heartbeat period (ms); 0 sends none. */
  heartbeatInterval: number;
  /** Ask to be retired after this many requests; 0 never. Jitter already applied by the primary. */
  maxRequests: number;
  /** How long draining may take before the worker exits anyway (ms). */
  gracefulTimeout: number;
}

/** Worker -> primary. */
export type WorkerMessage =
  | { tsgi: 'heartbeat' }
  | { tsgi: 'retire'; requests: number }
  | { tsgi: 'boot-error'; message: string }
  /** The server is closed; the worker waits for 'bye' before exiting (see leave()). */
  | { tsgi: 'closed' };

/** Primary -> worker: the answer to 'closed'. */
export type PrimaryMessage = { tsgi: 'bye' };

/** How long a draining worker keeps answering "Connection: close" before closing idle connections. */
const DRAIN_LINGER_MS = 1_000;

/** How long a closed worker waits for the primary's 'bye' (it comes in milliseconds unless the primary is stuck). */
const BYE_TIMEOUT_MS = 2_000;

/**
 * A path ("app/app.ts", "./app.ts", "/srv/app.ts") becomes a file URL, resolved
 * against the cwd where the master started; a URL, or a name that is not a
 * file there (a package), is imported as given.
 */
export function appSpecifier(appModule: string, cwd: string = process.cwd()): string {
  if (/^[a-z][a-z0-9+.-]+:/i.test(appModule)) return appModule;
  const path = resolve(cwd, appModule);
  if (appModule.startsWith('.') || isAbsolute(appModule) || existsSync(path)) return pathToFileURL(path).href;
  return appModule;
}

/**
 * Imports an app module: its default export is a TSGI app, or a Hono-style
 * object with a fetch(request) method.
 */
export async function loadApp(appModule: string): Promise<TsgiApp> {
  let module: { default?: unknown };
  try {
    module = await import(appSpecifier(appModule));
  } catch (error) {
    throw new Error(`cannot import app module ${appModule}: ${error instanceof Error ? error.stack : String(error)}`, { cause: error });
  }
  const exported = module.default;
  if (typeof exported === 'function') return exported as TsgiApp;
  if (exported && typeof (exported as { fetch?: unknown }).fetch === 'function') {
    const fetchApp = exported as { fetch: (request: Request) => Response | Promise<Response> };
    return (request) => fetchApp.fetch(request);
  }
  throw new Error(`app module ${appModule} has no default export that is an app (a function, or an object with fetch())`);
}

function send(message: WorkerMessage): void {
  if (process.connected) process.send?.(message);
}

async function runWorker(config: WorkerConfig): Promise<void> {
  // Heartbeats start before the import: an app whose import blocks the event
  // loop for longer than the timeout is killed like any other blocked worker.
  if (config.heartbeatInterval > 0) {
    send({ tsgi: 'heartbeat' });
    setInterval(() => send({ tsgi: 'heartbeat' }), config.heartbeatInterval).unref();
  }

  let shuttingDown = false;
  let server: Server | undefined;
  const shutdown = () => {
    if (shuttingDown) return;
    shuttingDown = true;
    // Whatever the app left running (timers, pools) must not keep a retired worker alive.
    setTimeout(() => process.exit(0), config.gracefulTimeout).unref();
    if (!server) process.exit(0);
    void leave(server, DRAIN_LINGER_MS);
  };
  // The primary retires a worker with SIGTERM: a signal needs no handshake, and
  // one that arrives before this handler exists still ends a worker that holds
  // no request yet. SIGINT and SIGQUIT keep their default: exit now.
  process.on('SIGTERM', shutdown);
  // The primary is gone: nobody will retire us, so drain and leave rather than linger as an orphan.
  process.on('disconnect', shutdown);

  const bootError = (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`[tsgi worker ${process.pid}] boot error: ${message}\n`);
    send({ tsgi: 'boot-error', message });
    process.exitCode = BOOT_ERROR_EXIT_CODE;
    // Let the IPC message go out before leaving.
    setImmediate(() => process.exit(BOOT_ERROR_EXIT_CODE));
  };

  let app: TsgiApp;
  try {
    app = await loadApp(config.appModule);
  } catch (error) {
    bootError(error);
    return;
  }

  let requests = 0;
  let retireAsked = false;
  const onRequestDone = () => {
    requests += 1;
    if (config.maxRequests > 0 && requests >= config.maxRequests && !retireAsked) {
      // The primary forks the replacement first and retires us once it listens: no gap.
      retireAsked = true;
      send({ tsgi: 'retire', requests });
    }
  };

  try {
    server = await serveHttp(app, config.bind, { ...config.server, onRequestDone });
  } catch (error) {
    bootError(error);
    return;
  }
  if (shuttingDown) void leave(server, 0);
}

/**
 * Closes the server, then exits only once the primary has answered 'closed'.
 * With cluster's round-robin the primary accepts connections and passes them
 * to workers over IPC; closing the server tells it to stop, but connections
 * it passed before reading that are still in the pipe. A live worker hands
 * them back (cluster re-routes them to another worker); an exited one would
 * strand them, and those clients would hang. The IPC channel is ordered, so
 * when 'bye' arrives every connection sent before it has been handed back.
 */
async function leave(server: Server, lingerMs: number): Promise<void> {
  await closeGracefully(server, lingerMs);
  if (process.connected) {
    await new Promise<void>((resolve) => {
      process.on('message', (message: PrimaryMessage) => {
        if (message?.tsgi === 'bye') resolve();
      });
      process.once('disconnect', resolve);
      setTimeout(resolve, BYE_TIMEOUT_MS);
      send({ tsgi: 'closed' });
    });
  }
  process.exit(0);
}

if (cluster.isWorker && process.env[WORKER_CONFIG_ENV]) {
  void runWorker(JSON.parse(process.env[WORKER_CONFIG_ENV]) as WorkerConfig);
}
