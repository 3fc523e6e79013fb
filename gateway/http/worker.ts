/**
 * A pre-fork worker: what runs in each process ./prefork.ts forks with
 * node:cluster (started by ./worker-entry.ts). It imports the app module,
 * serves it on the shared bind (cluster hands the primary's listening socket
 * around), heartbeats so the primary can tell a blocked event loop from a busy
 * one, answers the primary's "where are you stuck?" (./stuck-stack.ts), counts
 * requests, asks to be retired at max-requests and exits gracefully on SIGTERM.
 *
 * A library: importing it starts nothing.
 */
import type { Bind } from '../bind.ts';
import { loadApp } from '../load-app.ts';
import { defaultLogger } from '../logger.ts';
import type { ProxyFixTrust } from '../middleware/proxy-fix.ts';
import { withOptions } from '../middleware/options.ts';
import type { TsgiApp } from '../types.ts';
import { BOOT_ERROR_EXIT_CODE } from './arbiter.ts';
import { closeGracefully, serveHttp, type HttpServer, type ServeHttpOptions } from './server.ts';
import { startStackReporter, type StackReporter } from './stuck-stack.ts';

export { BOOT_ERROR_EXIT_CODE } from './arbiter.ts';

/** The environment variable carrying the worker's configuration (JSON). */
export const WORKER_CONFIG_ENV = 'TSGI_PREFORK_WORKER';

export interface WorkerConfig {
  /** An import specifier: a file URL (the primary resolves paths) or a package name. */
  appModule: string;
  bind: Bind;
  server: Omit<ServeHttpOptions, 'onRequestDone' | 'socketMode'>;
  /** Heartbeat period (ms); 0 sends none. */
  heartbeatInterval: number;
  /** Run the stack reporter thread on the primary's stack channel (when the primary kills on timeout). */
  reportStack: boolean;
  /** Ask to be retired after this many requests; 0 never. Jitter already applied by the primary. */
  maxRequests: number;
  /** How long draining may take before the worker exits anyway (ms). */
  gracefulTimeout: number;
  /** Proxy headers to believe (behind our nginx); nothing when absent. */
  trustProxy?: ProxyFixTrust;
  /** Give the app its URL without the mount (hideMount). */
  hideMount?: boolean;
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

/** How long a closed worker waits for the primary's 'bye' (it comes in milliseconds unless the primary is stuck). */
const BYE_TIMEOUT_MS = 2_000;

/** How long leaving waits for the stack reporter's thread to end. */
const REPORTER_STOP_MS = 500;

/**
 * The primary SIGKILLs a worker still running at the graceful timeout; the
 * worker's own deadline comes this much earlier (at most a tenth of it), so a
 * worker that is not blocked drops its last requests itself, says so, and exits.
 */
const DEADLINE_MARGIN_MS = 250;

let reporter: StackReporter | undefined;

/** Every way out: the stack reporter's thread goes first (see StackReporter.stop), but never holds the exit up. */
async function exit(code: number): Promise<never> {
  if (reporter) await Promise.race([reporter.stop(), new Promise((resolve) => setTimeout(resolve, REPORTER_STOP_MS).unref())]);
  process.exit(code);
}

function send(message: WorkerMessage): void {
  if (process.connected) process.send?.(message);
}

/** Runs this process as a worker; must be a cluster worker forked by runPrefork (it talks to the primary over IPC). */
export async function runWorker(config: WorkerConfig): Promise<void> {
  // Both start before the import: an app whose import blocks the event loop
  // for longer than the timeout is killed like any other blocked worker, and
  // where it was stuck is worth as much in the log.
  if (config.reportStack) reporter = startStackReporter();
  if (config.heartbeatInterval > 0) {
    send({ tsgi: 'heartbeat' });
    setInterval(() => send({ tsgi: 'heartbeat' }), config.heartbeatInterval).unref();
  }

  let shuttingDown = false;
  let server: HttpServer | undefined;
  const shutdown = () => {
    if (shuttingDown) return;
    shuttingDown = true;
    // Whatever the app left running (timers, pools) must not keep a retired worker alive;
    // leave() itself is over by the graceful timeout plus the primary's answer.
    setTimeout(() => void exit(1), config.gracefulTimeout + BYE_TIMEOUT_MS).unref();
    if (!server) return void exit(0);
    void leave(server, config.gracefulTimeout);
  };
  // The primary retires a worker with SIGTERM: a signal needs no handshake, and
  // one that arrives before this handler exists still ends a worker that holds
  // no request yet. SIGINT and SIGQUIT keep their default: exit now.
  process.on('SIGTERM', shutdown);
  // The primary is gone: nobody will retire us, so drain and leave rather than linger as an orphan.
  process.on('disconnect', shutdown);

  const bootError = (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    defaultLogger().write(`[tsgi worker ${process.pid}] boot error: ${message}`);
    send({ tsgi: 'boot-error', message });
    process.exitCode = BOOT_ERROR_EXIT_CODE;
    // Let the IPC message go out before leaving.
    setImmediate(() => void exit(BOOT_ERROR_EXIT_CODE));
  };

  let app: TsgiApp;
  try {
    const loaded = await loadApp(config.appModule);
    app = withOptions(loaded, config);
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
  if (shuttingDown) void leave(server, config.gracefulTimeout, 0);
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
async function leave(server: HttpServer, timeoutMs: number, lingerMs?: number): Promise<void> {
  // The graceful stop every transport shares, with the master's graceful timeout as its deadline.
  const margin = Math.min(DEADLINE_MARGIN_MS, timeoutMs / 10);
  const { dropped } = await closeGracefully(server, { timeoutMs: timeoutMs - margin, lingerMs });
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
  await exit(dropped === 0 ? 0 : 1);
}
