/**
 * The pre-fork master (gunicorn's arbiter) on node:cluster's public API.
 *
 * It keeps N workers (./worker.ts, started by ./worker-entry.ts) serving one
 * bind, and only manages them. Every decision (spawn, replace, retire, kill on
 * timeout, back off, stop, reload) is ./arbiter.ts, a pure function of its
 * state and the events; this file is the plumbing around it: cluster events,
 * signals, worker IPC, the stack channel and one timer become events, and the
 * actions become fork, kill, send and chmod calls. Every lifecycle event is
 * one line on stderr: "[tsgi master PID] ...".
 */
import cluster, { type Worker } from 'node:cluster';
import { randomInt } from 'node:crypto';
import { chmod } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { formatBind, type Bind } from '../bind.ts';
import { appSpecifier } from '../load-app.ts';
import { defaultLogger } from '../logger.ts';
import type { ProxyFixTrust } from '../middleware/proxy-fix.ts';
import type { ServeHttpOptions } from './server.ts';
import { removeStaleUnixSocket } from '../unix-socket.ts';
import {
  BOOT_ERROR_EXIT_CODE,
  decide,
  initialState,
  MASTER_SIGNALS,
  nextDeadline,
  type ArbiterAction,
  type ArbiterEvent,
  type ArbiterState,
  type MasterSignal,
} from './arbiter.ts';
import { ASK_STACK, parseStackReport, STACK_CHANNEL_FD } from './stuck-stack.ts';
import { WORKER_CONFIG_ENV, type WorkerConfig, type PrimaryMessage, type WorkerMessage } from './worker.ts';

export { BOOT_ERROR_EXIT_CODE } from './arbiter.ts';

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
  /** The app gets its URL without the mount (hideMount); off by default. */
  hideMount?: boolean;
}

export const DEFAULT_TIMEOUT = 30;
export const DEFAULT_GRACEFUL_TIMEOUT = 30;
export const DEFAULT_BOOT_FAILURE_LIMIT = 5;

const WORKER_ENTRY = fileURLToPath(new URL('./worker-entry.ts', import.meta.url));

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
  const maxRequests = options.maxRequests ?? 0;
  const jitter = options.maxRequestsJitter ?? 0;
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
    reportStack: timeoutMs > 0,
    maxRequests: 0,
    gracefulTimeout: gracefulMs,
    trustProxy: options.trustProxy,
    hideMount: options.hideMount,
  };
  const stdio = ['inherit', 'inherit', 'inherit', 'ipc'];
  stdio[STACK_CHANNEL_FD] = 'pipe';
  cluster.setupPrimary({ exec: WORKER_ENTRY, args: [], stdio });

  let state: ArbiterState = initialState({
    workers: options.workers ?? availableParallelism(),
    timeoutMs,
    gracefulMs,
    bootFailureLimit: options.bootFailureLimit ?? DEFAULT_BOOT_FAILURE_LIMIT,
    bindName: formatBind(bind),
    appName: options.appModule,
    applySocketMode: bind.kind === 'unix' && options.socketMode !== undefined,
  });
  const workers = new Map<number, Worker>();
  const queue: ArbiterEvent[] = [];
  let dispatching = false;
  let timer: NodeJS.Timeout | undefined;
  let finish: (code: number) => void = () => {};
  const stopped = new Promise<number>((resolve) => (finish = resolve));

  /** Events that arrive while actions run (a fork reports its pid) wait their turn: decisions never interleave. */
  function dispatch(event: ArbiterEvent): void {
    queue.push(event);
    if (dispatching) return;
    dispatching = true;
    try {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const decision = decide(state, next, Date.now());
        state = decision.state;
        for (const action of decision.actions) perform(action);
      }
    } finally {
      dispatching = false;
    }
    clearTimeout(timer);
    const at = nextDeadline(state);
    if (at !== undefined) timer = setTimeout(() => dispatch({ type: 'tick' }), Math.max(1, at - Date.now()));
  }

  function perform(action: ArbiterAction): void {
    switch (action.type) {
      case 'log':
        say(action.line);
        return;
      case 'spawn':
        spawn(action.id);
        return;
      case 'kill':
        workers.get(action.id)?.process.kill(action.signal);
        return;
      case 'ask-stack': {
        const channel = workers.get(action.id)?.process.stdio[STACK_CHANNEL_FD] as Writable | null | undefined;
        if (channel?.writable) channel.write(ASK_STACK);
        else queue.push({ type: 'stack', id: action.id, frames: [], error: 'no stack channel' });
        return;
      }
      case 'send-bye': {
        // Its server is closed here too (cluster's close came first on the same channel): it may exit.
        const worker = workers.get(action.id);
        if (worker?.isConnected()) worker.send({ tsgi: 'bye' } satisfies PrimaryMessage);
        return;
      }
      case 'apply-socket-mode':
        if (bind.kind === 'unix' && options.socketMode !== undefined) {
          chmod(bind.path, options.socketMode).catch((error: Error) => say(`chmod ${bind.path}: ${error.message}`));
        }
        return;
      case 'exit':
        for (const signal of MASTER_SIGNALS) process.off(signal, onSignal);
        finish(action.code);
        return;
    }
  }

  function spawn(id: number): void {
    const config: WorkerConfig = {
      ...baseConfig,
      maxRequests: maxRequests > 0 ? maxRequests + (jitter > 0 ? randomInt(0, jitter + 1) : 0) : 0,
    };
    const worker = cluster.fork({ [WORKER_CONFIG_ENV]: JSON.stringify(config) });
    workers.set(id, worker);
    worker.on('message', (message: WorkerMessage) => {
      switch (message?.tsgi) {
        case 'heartbeat':
          return dispatch({ type: 'heartbeat', id });
        case 'retire':
          return dispatch({ type: 'retire-me', id, requests: message.requests });
        case 'boot-error':
          return dispatch({ type: 'boot-error', id, message: message.message });
        case 'closed':
          return dispatch({ type: 'closed', id });
      }
    });
    worker.on('listening', () => dispatch({ type: 'listening', id }));
    worker.on('exit', (code: number | null, signal: string | null) => {
      workers.delete(id);
      dispatch({ type: 'exited', id, code, signal });
    });
    // Sending to a worker that is going away fails with EPIPE; its exit is handled on 'exit'.
    worker.on('error', () => {});
    const channel = worker.process.stdio[STACK_CHANNEL_FD] as Readable | null | undefined;
    if (channel) {
      // A worker that dies resets its end; its exit is handled on 'exit'.
      const lines = createInterface({ input: channel });
      lines.on('error', () => {});
      lines.on('line', (line) => dispatch({ type: 'stack', id, ...parseStackReport(line) }));
    }
    queue.push({ type: 'spawned', id, pid: worker.process.pid ?? 0 });
  }

  function onSignal(signal: NodeJS.Signals): void {
    dispatch({ type: 'signal', signal: signal as MasterSignal });
  }

  for (const signal of MASTER_SIGNALS) process.on(signal, onSignal);
  dispatch({ type: 'start' });
  return stopped;
}
