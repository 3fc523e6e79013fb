/**
 * The pre-fork master (gunicorn's arbiter) on node:cluster's public API.
 *
 * It keeps N workers (./worker.ts) serving one bind, and only manages them:
 *   - a worker that dies is respawned, with exponential backoff while they keep
 *     dying, reset once one stays up;
 *   - a worker that dies before it ever listened is a boot failure: an explicit
 *     one (import or bind failed, exit code 3) or BOOT_FAILURE_LIMIT in a row
 *     stops the master with a message instead of crash-looping;
 *   - a worker whose heartbeat is older than `timeout` has a blocked event loop
 *     and is killed (then respawned);
 *   - SIGHUP reloads gracefully: each worker gets a replacement, and is retired
 *     (SIGTERM: drain, then exit) only once that replacement is listening; a
 *     replacement that cannot boot aborts the reload and the old workers stay;
 *   - max-requests retires a worker the same way, replacement first;
 *   - SIGTERM stops gracefully (SIGKILL after `gracefulTimeout`), SIGINT and
 *     SIGQUIT stop fast, SIGTTIN and SIGTTOU add and remove a worker.
 * Every lifecycle event is one line on stderr: "[tsgi master PID] ...".
 */
import cluster, { type Worker } from 'node:cluster';
import { randomInt } from 'node:crypto';
import { chmod } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { formatBind, type Bind } from '../bind.ts';
import { appSpecifier } from '../load-app.ts';
import { defaultLogger } from '../logger.ts';
import type { ProxyFixTrust } from '../middleware/proxy-fix.ts';
import type { ServeHttpOptions } from './server.ts';
import { removeStaleUnixSocket } from '../unix-socket.ts';
import {
  BOOT_ERROR_EXIT_CODE,
  WORKER_CONFIG_ENV,
  type WorkerConfig,
  type PrimaryMessage,
  type WorkerMessage,
} from './worker.ts';

export { BOOT_ERROR_EXIT_CODE } from './worker.ts';

export interface PreforkOptions extends Omit<ServeHttpOptions, 'onRequestDone'> {
  /** The module whose default export is the app: a path (relative to the cwd), file URL or package name. */
  appModule: string;
  bind: Bind;
  /** Number of workers; default os.availableParallelism(). */
  workers?: number;
  /** Retire a worker after this many requests (plus jitter); 0 or undefined: never. */
  maxRequests?: number;
  /** Adds 0..jitter to each worker's max-requests, so workers do not all restart at once. */
  maxRequestsJitter?: number;
  /** Seconds without a heartbeat before a worker is killed; 0 disables. Default 30 (gunicorn's). */
  timeout?: number;
  /** Seconds a retiring or stopping worker gets to finish its requests before SIGKILL. Default 30. */
  gracefulTimeout?: number;
  /** Workers in a row that die before listening before the master gives up. Default 5. */
  bootFailureLimit?: number;
  /** Where the lifecycle lines go; default stderr. */
  log?: (line: string) => void;
  /** Proxy headers the workers believe (proxyFix); nothing by default. */
  trustProxy?: ProxyFixTrust;
}

export const DEFAULT_TIMEOUT = 30;
export const DEFAULT_GRACEFUL_TIMEOUT = 30;
export const DEFAULT_BOOT_FAILURE_LIMIT = 5;

/** Respawn backoff: 100 ms doubling up to 10 s; a worker that served this long resets it. */
const BACKOFF_BASE_MS = 100;
const BACKOFF_MAX_MS = 10_000;
const STABLE_AFTER_MS = 5_000;
/** A fast stop waits this long for SIGINT to work before SIGKILL. */
const FAST_STOP_KILL_MS = 2_000;

const WORKER_ENTRY = fileURLToPath(new URL('./worker.ts', import.meta.url));

interface WorkerState {
  readonly worker: Worker;
  readonly pid: number;
  listening: boolean;
  listeningSince: number;
  lastHeartbeat: number;
  /** Told to drain and exit; no longer counted. */
  retiring: boolean;
  /** Wants a replacement (SIGHUP, max-requests); retired when the replacement listens. */
  replaceMe: boolean;
  /** The worker this one will take over from once it listens; not counted until then. */
  replaces: WorkerState | undefined;
  bootError: string | undefined;
  timedOut: boolean;
  killTimer: NodeJS.Timeout | undefined;
}

/**
 * Runs the master until it stops; resolves with the exit code for the CLI:
 * 0 after a SIGTERM/SIGINT/SIGQUIT stop, BOOT_ERROR_EXIT_CODE (3) when the app
 * cannot boot or the socket cannot be bound.
 */
export async function runPrefork(options: PreforkOptions): Promise<number> {
  if (!cluster.isPrimary) throw new Error('runPrefork must run in the primary process');
  const log = options.log ?? ((line: string) => defaultLogger().write(line));
  const say = (message: string) => log(`[tsgi master ${process.pid}] ${message}`);

  const timeoutMs = (options.timeout ?? DEFAULT_TIMEOUT) * 1000;
  const gracefulMs = (options.gracefulTimeout ?? DEFAULT_GRACEFUL_TIMEOUT) * 1000;
  const bootFailureLimit = options.bootFailureLimit ?? DEFAULT_BOOT_FAILURE_LIMIT;
  const maxRequests = options.maxRequests ?? 0;
  const jitter = options.maxRequestsJitter ?? 0;
  let target = Math.max(1, options.workers ?? availableParallelism());
  const bind = options.bind;

  if (bind.kind === 'unix') {
    // The primary owns the socket file: cluster creates it here on the first worker's listen().
    try {
      await removeStaleUnixSocket(bind.path);
    } catch (error) {
      say(`${error instanceof Error ? error.message : String(error)}; stopping`);
      return BOOT_ERROR_EXIT_CODE;
    }
  }

  // Every HTTP server option reaches the workers as it is (the settings table puts them in
  // PreforkOptions); only what the master itself acts on, or cannot be sent as JSON, stays here.
  const {
    appModule: _appModule, bind: _bind, workers: _workers, maxRequests: _maxRequests, maxRequestsJitter: _jitter,
    timeout: _timeout, gracefulTimeout: _gracefulTimeout, bootFailureLimit: _bootFailureLimit, log: _log,
    trustProxy: _trustProxy, socketMode: _socketMode, ...server
  } = options;
  const baseConfig: WorkerConfig = {
    appModule: appSpecifier(options.appModule),
    bind,
    server,
    heartbeatInterval: timeoutMs > 0 ? Math.max(50, Math.floor(timeoutMs / 4)) : 0,
    maxRequests: 0,
    gracefulTimeout: gracefulMs,
    trustProxy: options.trustProxy,
  };
  cluster.setupPrimary({ exec: WORKER_ENTRY, args: [] });

  const states = new Map<Worker, WorkerState>();
  let stopping = false;
  let exitCode = 0;
  let bootFailuresInARow = 0;
  let crashStreak = 0;
  let respawnNotBefore = 0;
  let reconcileTimer: NodeJS.Timeout | undefined;
  let socketModeApplied = false;
  let finish: (code: number) => void = () => {};
  const stopped = new Promise<number>((resolve) => (finish = resolve));

  const describeExit = (code: number | null, signal: string | null) => (signal ? `signal ${signal}` : `code ${code}`);

  function fork(replaces?: WorkerState): WorkerState {
    const config: WorkerConfig = {
      ...baseConfig,
      maxRequests: maxRequests > 0 ? maxRequests + (jitter > 0 ? randomInt(0, jitter + 1) : 0) : 0,
    };
    const worker = cluster.fork({ [WORKER_CONFIG_ENV]: JSON.stringify(config) });
    const state: WorkerState = {
      worker,
      pid: worker.process.pid ?? 0,
      listening: false,
      listeningSince: 0,
      lastHeartbeat: Date.now(),
      retiring: false,
      replaceMe: false,
      replaces,
      bootError: undefined,
      timedOut: false,
      killTimer: undefined,
    };
    states.set(worker, state);
    say(`booting worker ${state.pid}${replaces ? ` to replace worker ${replaces.pid}` : ''}`);
    worker.on('message', (message: WorkerMessage) => onMessage(state, message));
    worker.on('listening', () => onListening(state));
    worker.on('exit', (code: number | null, signal: string | null) => onExit(state, code, signal));
    // Sending to a worker that is going away fails with EPIPE; its exit is handled on 'exit'.
    worker.on('error', () => {});
    return state;
  }

  function retire(state: WorkerState, why: string): void {
    if (state.retiring) return;
    state.retiring = true;
    say(`retiring worker ${state.pid} (${why})`);
    // SIGTERM is the worker's graceful stop: finish requests in flight, then exit.
    state.worker.process.kill('SIGTERM');
    state.killTimer = setTimeout(() => {
      say(`worker ${state.pid} still running ${gracefulMs / 1000} s after SIGTERM, killing it`);
      state.worker.process.kill('SIGKILL');
    }, gracefulMs);
  }

  function alive(state: WorkerState | undefined): state is WorkerState {
    return state !== undefined && states.has(state.worker);
  }

  /** Brings the set of workers to what it should be: the target count, and a replacement for each worker that wants one. */
  function reconcile(): void {
    if (stopping) return;
    const all = [...states.values()];
    const counted = all.filter((w) => !w.retiring && !w.replaces);

    // Too many (SIGTTOU): booting ones go first (newest first), then the oldest.
    while (counted.length > target) {
      const booting = counted.filter((w) => !w.listening);
      const victim = booting.length > 0 ? booting[booting.length - 1] : counted[0];
      counted.splice(counted.indexOf(victim), 1);
      retire(victim, `worker count lowered to ${target}`);
      for (const w of all) if (w.replaces === victim) retire(w, `worker count lowered to ${target}`);
    }

    const missing = target - counted.length;
    if (missing > 0) {
      const wait = respawnNotBefore - Date.now();
      if (wait > 0) {
        scheduleReconcile(wait);
      } else {
        for (let i = 0; i < missing; i++) fork();
      }
    }

    for (const w of [...states.values()]) {
      if (!w.replaceMe || w.retiring) continue;
      const hasReplacement = [...states.values()].some((r) => r.replaces === w);
      if (!hasReplacement) fork(w);
    }
  }

  function scheduleReconcile(delayMs: number): void {
    if (reconcileTimer) clearTimeout(reconcileTimer);
    reconcileTimer = setTimeout(() => {
      reconcileTimer = undefined;
      reconcile();
    }, delayMs);
  }

  function onMessage(state: WorkerState, message: WorkerMessage): void {
    switch (message?.tsgi) {
      case 'heartbeat':
        state.lastHeartbeat = Date.now();
        break;
      case 'retire':
        if (stopping || state.retiring || state.replaceMe) break;
        say(`worker ${state.pid} served ${message.requests} requests (max-requests), replacing it`);
        state.replaceMe = true;
        reconcile();
        break;
      case 'boot-error':
        state.bootError = message.message;
        break;
      case 'closed':
        // Its server is closed here too (cluster's close came first on the same channel): it may exit.
        if (state.worker.isConnected()) state.worker.send({ tsgi: 'bye' } satisfies PrimaryMessage);
        break;
    }
  }

  function onListening(state: WorkerState): void {
    state.listening = true;
    state.listeningSince = Date.now();
    bootFailuresInARow = 0;
    say(`worker ${state.pid} listening on ${formatBind(bind)}`);
    if (bind.kind === 'unix' && options.socketMode !== undefined && !socketModeApplied) {
      socketModeApplied = true;
      chmod(bind.path, options.socketMode).catch((error: Error) => say(`chmod ${bind.path}: ${error.message}`));
    }
    if (stopping) {
      retire(state, 'stopping');
      return;
    }
    const old = state.replaces;
    state.replaces = undefined;
    if (alive(old)) retire(old, `replaced by worker ${state.pid}`);
  }

  function onExit(state: WorkerState, code: number | null, signal: string | null): void {
    states.delete(state.worker);
    clearTimeout(state.killTimer);
    const replaced = state.replaces;
    // Its replacements now simply count as workers.
    for (const w of states.values()) if (w.replaces === state) w.replaces = undefined;
    const how = describeExit(code, signal);

    if (stopping) {
      say(`worker ${state.pid} exited (${how})`);
      if (states.size === 0) done();
      return;
    }
    if (state.retiring) {
      say(`worker ${state.pid} exited (${how}) after retiring`);
      reconcile();
      return;
    }

    if (!state.listening) {
      if (state.bootError !== undefined || code === BOOT_ERROR_EXIT_CODE) {
        // The worker printed the whole stack; the master's line is the summary.
        const summary = (state.bootError ?? `exited with code ${code} before listening`).split('\n')[0];
        bootFailed(state, summary, replaced);
        return;
      }
      bootFailuresInARow += 1;
      say(`worker ${state.pid} died before listening (${how}), ${bootFailuresInARow} in a row`);
      if (bootFailuresInARow >= bootFailureLimit) {
        halt(`${bootFailuresInARow} workers in a row died before listening; the app cannot boot`);
        return;
      }
    }

    if (state.listening && Date.now() - state.listeningSince >= STABLE_AFTER_MS) crashStreak = 0;
    crashStreak += 1;
    const delay = Math.min(BACKOFF_BASE_MS * 2 ** (crashStreak - 1), BACKOFF_MAX_MS);
    respawnNotBefore = Date.now() + delay;
    const cause = state.timedOut ? 'killed after its heartbeat timed out' : `died unexpectedly (${how})`;
    say(`worker ${state.pid} ${cause}; respawning in ${delay} ms`);
    scheduleReconcile(delay);
  }

  function bootFailed(state: WorkerState, message: string, replaced: WorkerState | undefined): void {
    if (alive(replaced) && replaced.listening) {
      // A reload (or max-requests) with an app that no longer boots: keep the workers that run.
      say(`worker ${state.pid} failed to boot: ${message}`);
      say(`replacement aborted: keeping the ${[...states.values()].filter((w) => w.listening && !w.retiring).length} running workers`);
      for (const w of states.values()) {
        w.replaceMe = false;
        if (w.replaces) retire(w, 'replacement aborted');
      }
      return;
    }
    halt(`worker ${state.pid} failed to boot: ${message}`);
  }

  function halt(message: string): void {
    say(message);
    say('stopping: the app cannot boot');
    stop('graceful', BOOT_ERROR_EXIT_CODE);
  }

  function stop(mode: 'graceful' | 'fast', code: number): void {
    if (stopping && mode === 'graceful') return;
    stopping = true;
    exitCode = Math.max(exitCode, code);
    if (reconcileTimer) clearTimeout(reconcileTimer);
    clearInterval(heartbeatCheck);
    if (states.size === 0) {
      done();
      return;
    }
    for (const state of states.values()) {
      if (mode === 'graceful') {
        retire(state, 'stopping');
      } else {
        clearTimeout(state.killTimer);
        state.worker.process.kill('SIGINT');
        state.killTimer = setTimeout(() => state.worker.process.kill('SIGKILL'), FAST_STOP_KILL_MS);
      }
    }
  }

  function checkHeartbeats(): void {
    const now = Date.now();
    for (const state of states.values()) {
      if (state.timedOut || now - state.lastHeartbeat <= timeoutMs) continue;
      state.timedOut = true;
      say(`worker ${state.pid} sent no heartbeat for ${((now - state.lastHeartbeat) / 1000).toFixed(1)} s (timeout ${timeoutMs / 1000} s), killing it`);
      state.worker.process.kill('SIGKILL');
    }
  }

  const signals: Record<string, () => void> = {
    SIGHUP: () => {
      if (stopping) return;
      const current = [...states.values()].filter((w) => !w.retiring);
      say(`SIGHUP: reloading, replacing ${current.length} workers`);
      for (const w of current) w.replaceMe = true;
      reconcile();
    },
    SIGTERM: () => {
      say(`SIGTERM: stopping gracefully (up to ${gracefulMs / 1000} s)`);
      stop('graceful', 0);
    },
    SIGINT: () => {
      say('SIGINT: stopping now');
      stop('fast', 0);
    },
    SIGQUIT: () => {
      say('SIGQUIT: stopping now');
      stop('fast', 0);
    },
    SIGTTIN: () => {
      if (stopping) return;
      target += 1;
      say(`SIGTTIN: ${target} workers`);
      reconcile();
    },
    SIGTTOU: () => {
      if (stopping || target <= 1) return;
      target -= 1;
      say(`SIGTTOU: ${target} workers`);
      reconcile();
    },
  };

  function done(): void {
    for (const [signal, handler] of Object.entries(signals)) process.off(signal, handler);
    say(`stopped (exit code ${exitCode})`);
    finish(exitCode);
  }

  for (const [signal, handler] of Object.entries(signals)) process.on(signal, handler);
  const heartbeatCheck = setInterval(checkHeartbeats, timeoutMs > 0 ? Math.max(100, Math.floor(timeoutMs / 4)) : 2 ** 30);
  if (timeoutMs <= 0) clearInterval(heartbeatCheck);

  say(`starting ${target} workers on ${formatBind(bind)} for ${options.appModule}`);
  reconcile();
  return stopped;
}
