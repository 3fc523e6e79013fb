/**
 * The pre-fork master's decisions, as a pure function: `decide(state, event,
 * now)` returns the next state and the actions to take. No process, signal,
 * timer or clock in here: ./prefork.ts turns cluster events, signals, IPC and
 * one timer into events, and actions into process calls. So every decision
 * (spawn, replace, retire, kill on timeout, back off, stop, reload) is
 * unit-tested without processes (tests/unit/arbiter.test.ts), and the real
 * processes only prove the plumbing (tests/http/prefork.test.ts).
 *
 * gunicorn's arbiter, with these choices:
 *   - a worker that dies is respawned, with exponential backoff while they keep
 *     dying, reset once one stayed up STABLE_AFTER_MS;
 *   - a worker that dies before it ever listened is a boot failure: an explicit
 *     one (import or bind failed, exit code 3) or `bootFailureLimit` in a row
 *     stops the master with a message instead of crash-looping;
 *   - a worker whose heartbeat is older than `timeoutMs` has a blocked event
 *     loop: the master asks where it is stuck (gunicorn's SIGABRT traceback;
 *     here the worker's stack reporter thread, ./stuck-stack.ts), logs the
 *     stack, and then kills it; no answer within STACK_WAIT_MS kills it anyway;
 *   - SIGHUP reloads gracefully: each worker gets a replacement, and is retired
 *     (SIGTERM: drain, then exit) only once that replacement is listening; a
 *     replacement that cannot boot aborts the reload and the old workers stay;
 *   - max-requests retires a worker the same way, replacement first;
 *   - SIGTERM stops gracefully (SIGKILL after `gracefulMs`), SIGINT and SIGQUIT
 *     stop fast (SIGINT, SIGKILL after FAST_STOP_KILL_MS); SIGTTIN and SIGTTOU
 *     add and remove a worker.
 * Time only moves through `now`: the plumbing sets one timer for
 * `nextDeadline(state)` and sends a `tick` when it fires.
 */

/** Exit code of a worker whose app cannot be imported or whose bind fails (gunicorn's WORKER_BOOT_ERROR). */
export const BOOT_ERROR_EXIT_CODE = 3;

/** Respawn backoff: 100 ms doubling up to 10 s; a worker that served this long resets it. */
export const BACKOFF_BASE_MS = 100;
export const BACKOFF_MAX_MS = 10_000;
export const STABLE_AFTER_MS = 5_000;
/** A fast stop waits this long for SIGINT to work before SIGKILL. */
export const FAST_STOP_KILL_MS = 2_000;
/** A timed-out worker gets this long to report its stack before SIGKILL. */
export const STACK_WAIT_MS = 2_000;

export type MasterSignal = 'SIGHUP' | 'SIGTERM' | 'SIGINT' | 'SIGQUIT' | 'SIGTTIN' | 'SIGTTOU';
export const MASTER_SIGNALS: readonly MasterSignal[] = ['SIGHUP', 'SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGTTIN', 'SIGTTOU'];

export interface ArbiterConfig {
  /** Workers to keep (at least 1). */
  readonly workers: number;
  /** Milliseconds without a heartbeat before a worker counts as blocked; 0 disables. */
  readonly timeoutMs: number;
  /** Milliseconds a retiring or stopping worker gets before SIGKILL. */
  readonly gracefulMs: number;
  /** Workers in a row that die before listening before the master gives up. */
  readonly bootFailureLimit: number;
  /** For the log lines: where the workers listen, and the app. */
  readonly bindName: string;
  readonly appName: string;
  /** Set the unix socket's mode once the first worker listens (cluster creates the file then). */
  readonly applySocketMode: boolean;
}

export interface WorkerRecord {
  /** The arbiter's own number for the worker, known before the process exists. */
  readonly id: number;
  /** 0 until the process is forked (the `spawned` event). */
  readonly pid: number;
  readonly listening: boolean;
  readonly listeningSince: number;
  readonly lastHeartbeat: number;
  /** Told to drain and exit; no longer counted. */
  readonly retiring: boolean;
  /** Wants a replacement (SIGHUP, max-requests); retired when the replacement listens. */
  readonly replaceMe: boolean;
  /** The id of the worker this one takes over from once it listens; not counted until then. */
  readonly replaces: number | undefined;
  readonly bootError: string | undefined;
  /** Its heartbeat stopped: its stack was asked for, and it is being killed. */
  readonly timedOut: boolean;
  /** When to SIGKILL it, and the line to log then. */
  readonly killAt: number | undefined;
  readonly killWhy: string | undefined;
}

export interface ArbiterState {
  readonly config: ArbiterConfig;
  readonly started: boolean;
  readonly target: number;
  /** In the order they were spawned. */
  readonly workers: readonly WorkerRecord[];
  readonly nextId: number;
  readonly stopping: false | 'graceful' | 'fast';
  readonly exitCode: number;
  /** Set once the master has stopped: no further actions. */
  readonly stopped: boolean;
  readonly bootFailuresInARow: number;
  readonly crashStreak: number;
  /** No worker is spawned before this time (crash backoff). */
  readonly respawnAt: number;
  readonly socketModeApplied: boolean;
}

export type ArbiterEvent =
  | { type: 'start' }
  | { type: 'spawned'; id: number; pid: number }
  | { type: 'listening'; id: number }
  | { type: 'heartbeat'; id: number }
  /** The worker reached max-requests. */
  | { type: 'retire-me'; id: number; requests: number }
  | { type: 'boot-error'; id: number; message: string }
  /** The worker closed its server and waits for 'bye' (see ./worker.ts, leave()). */
  | { type: 'closed'; id: number }
  | { type: 'exited'; id: number; code: number | null; signal: string | null }
  /** The worker's answer to `ask-stack`: its main thread's frames, or why there are none. */
  | { type: 'stack'; id: number; frames: readonly string[]; error?: string }
  | { type: 'signal'; signal: MasterSignal }
  /** A deadline from nextDeadline() has come. */
  | { type: 'tick' };

export type ArbiterAction =
  | { type: 'spawn'; id: number }
  | { type: 'kill'; id: number; signal: 'SIGTERM' | 'SIGINT' | 'SIGKILL' }
  | { type: 'ask-stack'; id: number }
  | { type: 'send-bye'; id: number }
  | { type: 'apply-socket-mode' }
  | { type: 'log'; line: string }
  | { type: 'exit'; code: number };

export interface Decision {
  readonly state: ArbiterState;
  readonly actions: ArbiterAction[];
}

export function initialState(config: ArbiterConfig): ArbiterState {
  return {
    config,
    started: false,
    target: Math.max(1, config.workers),
    workers: [],
    nextId: 1,
    stopping: false,
    exitCode: 0,
    stopped: false,
    bootFailuresInARow: 0,
    crashStreak: 0,
    respawnAt: 0,
    socketModeApplied: false,
  };
}

export function decide(state: ArbiterState, event: ArbiterEvent, now: number): Decision {
  if (state.stopped) return { state, actions: [] };
  const draft = new Draft(state, now);
  draft.handle(event);
  if (draft.s.started && !draft.s.stopping) draft.reconcile();
  return { state: draft.s, actions: draft.actions };
}

/** The earliest time a `tick` has something to do, or undefined when nothing is pending. */
export function nextDeadline(state: ArbiterState): number | undefined {
  if (state.stopped) return undefined;
  let next = Infinity;
  for (const w of state.workers) {
    if (w.killAt !== undefined) next = Math.min(next, w.killAt);
    if (state.config.timeoutMs > 0 && !w.timedOut) next = Math.min(next, w.lastHeartbeat + state.config.timeoutMs);
  }
  if (state.started && !state.stopping && counted(state.workers).length < state.target) next = Math.min(next, state.respawnAt);
  return next === Infinity ? undefined : next;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type Worker = Mutable<WorkerRecord>;
type State = Omit<Mutable<ArbiterState>, 'workers'> & { workers: Worker[] };

/** Workers that count toward the target: not leaving, not waiting to take over. */
function counted<W extends WorkerRecord>(workers: readonly W[]): W[] {
  return workers.filter((w) => !w.retiring && w.replaces === undefined);
}

const describeExit = (code: number | null, signal: string | null) => (signal ? `signal ${signal}` : `code ${code}`);
const seconds = (ms: number) => `${ms / 1000} s`;

/** One decision's working copy: the input state is never mutated. */
class Draft {
  readonly s: State;
  readonly actions: ArbiterAction[] = [];
  readonly now: number;

  constructor(state: ArbiterState, now: number) {
    this.s = { ...state, workers: state.workers.map((w) => ({ ...w })) };
    this.now = now;
  }

  handle(event: ArbiterEvent): void {
    if (event.type === 'start') return this.start();
    if (event.type === 'signal') return this.signal(event.signal);
    if (event.type === 'tick') return this.tick();
    const w = this.s.workers.find((worker) => worker.id === event.id);
    if (!w) return; // an event from a worker already forgotten (e.g. a late message)
    switch (event.type) {
      case 'spawned':
        w.pid = event.pid;
        this.say(`booting worker ${w.pid}${w.replaces !== undefined ? ` to replace worker ${this.pidOf(w.replaces)}` : ''}`);
        return;
      case 'listening':
        return this.listening(w);
      case 'heartbeat':
        w.lastHeartbeat = this.now;
        return;
      case 'retire-me':
        if (this.s.stopping || w.retiring || w.replaceMe) return;
        this.say(`worker ${w.pid} served ${event.requests} requests (max-requests), replacing it`);
        w.replaceMe = true;
        return;
      case 'boot-error':
        w.bootError = event.message;
        return;
      case 'closed':
        this.actions.push({ type: 'send-bye', id: w.id });
        return;
      case 'exited':
        return this.exited(w, event.code, event.signal);
      case 'stack':
        return this.stack(w, event.frames, event.error);
    }
  }

  say(line: string): void {
    this.actions.push({ type: 'log', line });
  }

  pidOf(id: number): number {
    return this.s.workers.find((w) => w.id === id)?.pid ?? 0;
  }

  start(): void {
    if (this.s.started) return;
    this.s.started = true;
    this.say(`starting ${this.s.target} workers on ${this.s.config.bindName} for ${this.s.config.appName}`);
  }

  spawn(replaces?: Worker): void {
    const id = this.s.nextId++;
    this.s.workers.push({
      id,
      pid: 0,
      listening: false,
      listeningSince: 0,
      lastHeartbeat: this.now,
      retiring: false,
      replaceMe: false,
      replaces: replaces?.id,
      bootError: undefined,
      timedOut: false,
      killAt: undefined,
      killWhy: undefined,
    });
    this.actions.push({ type: 'spawn', id });
  }

  retire(w: Worker, why: string): void {
    if (w.retiring) return;
    w.retiring = true;
    this.say(`retiring worker ${w.pid} (${why})`);
    // SIGTERM is the worker's graceful stop: finish requests in flight, then exit.
    this.actions.push({ type: 'kill', id: w.id, signal: 'SIGTERM' });
    if (w.killAt === undefined) {
      w.killAt = this.now + this.s.config.gracefulMs;
      w.killWhy = `worker ${w.pid} still running ${seconds(this.s.config.gracefulMs)} after SIGTERM, killing it`;
    }
  }

  kill(w: Worker): void {
    this.actions.push({ type: 'kill', id: w.id, signal: 'SIGKILL' });
    w.killAt = undefined;
    w.killWhy = undefined;
  }

  /** Brings the set of workers to what it should be: the target count, and a replacement for each worker that wants one. */
  reconcile(): void {
    const workers = this.s.workers;
    const current = counted(workers);
    const lowered = `worker count lowered to ${this.s.target}`;

    // Too many (SIGTTOU): booting ones go first (newest first), then the oldest.
    while (current.length > this.s.target) {
      const booting = current.filter((w) => !w.listening);
      const victim = booting.length > 0 ? booting[booting.length - 1]! : current[0]!;
      current.splice(current.indexOf(victim), 1);
      this.retire(victim, lowered);
      for (const w of workers) if (w.replaces === victim.id) this.retire(w, lowered);
    }

    if (current.length < this.s.target && this.now >= this.s.respawnAt) {
      for (let i = current.length; i < this.s.target; i++) this.spawn();
    }

    for (const w of [...workers]) {
      if (!w.replaceMe || w.retiring) continue;
      if (!workers.some((r) => r.replaces === w.id)) this.spawn(w);
    }
  }

  listening(w: Worker): void {
    w.listening = true;
    w.listeningSince = this.now;
    this.s.bootFailuresInARow = 0;
    this.say(`worker ${w.pid} listening on ${this.s.config.bindName}`);
    if (this.s.config.applySocketMode && !this.s.socketModeApplied) {
      this.s.socketModeApplied = true;
      this.actions.push({ type: 'apply-socket-mode' });
    }
    if (this.s.stopping) {
      this.retire(w, 'stopping');
      return;
    }
    const old = this.s.workers.find((o) => o.id === w.replaces);
    w.replaces = undefined;
    if (old) this.retire(old, `replaced by worker ${w.pid}`);
  }

  exited(w: Worker, code: number | null, signal: string | null): void {
    const workers = this.s.workers;
    workers.splice(workers.indexOf(w), 1);
    const replaced = workers.find((o) => o.id === w.replaces);
    // Its replacements now simply count as workers.
    for (const o of workers) if (o.replaces === w.id) o.replaces = undefined;
    const how = describeExit(code, signal);

    if (this.s.stopping) {
      this.say(`worker ${w.pid} exited (${how})`);
      if (workers.length === 0) this.done();
      return;
    }
    if (w.retiring) {
      this.say(`worker ${w.pid} exited (${how}) after retiring`);
      return;
    }

    if (!w.listening) {
      if (w.bootError !== undefined || code === BOOT_ERROR_EXIT_CODE) {
        // The worker printed the whole stack; the master's line is the summary.
        const summary = (w.bootError ?? `exited with code ${code} before listening`).split('\n')[0]!;
        this.bootFailed(w, summary, replaced);
        return;
      }
      this.s.bootFailuresInARow += 1;
      this.say(`worker ${w.pid} died before listening (${how}), ${this.s.bootFailuresInARow} in a row`);
      if (this.s.bootFailuresInARow >= this.s.config.bootFailureLimit) {
        this.halt(`${this.s.bootFailuresInARow} workers in a row died before listening; the app cannot boot`);
        return;
      }
    }

    if (w.listening && this.now - w.listeningSince >= STABLE_AFTER_MS) this.s.crashStreak = 0;
    this.s.crashStreak += 1;
    const delay = Math.min(BACKOFF_BASE_MS * 2 ** (this.s.crashStreak - 1), BACKOFF_MAX_MS);
    this.s.respawnAt = this.now + delay;
    const cause = w.timedOut ? 'killed after its heartbeat timed out' : `died unexpectedly (${how})`;
    this.say(`worker ${w.pid} ${cause}; respawning in ${delay} ms`);
  }

  bootFailed(w: Worker, message: string, replaced: Worker | undefined): void {
    if (replaced?.listening) {
      // A reload (or max-requests) with an app that no longer boots: keep the workers that run.
      this.say(`worker ${w.pid} failed to boot: ${message}`);
      const running = this.s.workers.filter((o) => o.listening && !o.retiring).length;
      this.say(`replacement aborted: keeping the ${running} running workers`);
      for (const o of this.s.workers) {
        o.replaceMe = false;
        if (o.replaces !== undefined) this.retire(o, 'replacement aborted');
      }
      return;
    }
    this.halt(`worker ${w.pid} failed to boot: ${message}`);
  }

  halt(message: string): void {
    this.say(message);
    this.say('stopping: the app cannot boot');
    this.stop('graceful', BOOT_ERROR_EXIT_CODE);
  }

  stop(mode: 'graceful' | 'fast', code: number): void {
    if (this.s.stopping && mode === 'graceful') return;
    this.s.stopping = mode;
    this.s.exitCode = Math.max(this.s.exitCode, code);
    if (this.s.workers.length === 0) {
      this.done();
      return;
    }
    for (const w of this.s.workers) {
      if (mode === 'graceful') {
        this.retire(w, 'stopping');
      } else {
        this.actions.push({ type: 'kill', id: w.id, signal: 'SIGINT' });
        w.killAt = this.now + FAST_STOP_KILL_MS;
        w.killWhy = undefined;
      }
    }
  }

  done(): void {
    this.s.stopped = true;
    this.say(`stopped (exit code ${this.s.exitCode})`);
    this.actions.push({ type: 'exit', code: this.s.exitCode });
  }

  signal(signal: MasterSignal): void {
    const { config } = this.s;
    switch (signal) {
      case 'SIGHUP': {
        if (this.s.stopping) return;
        const current = this.s.workers.filter((w) => !w.retiring);
        this.say(`SIGHUP: reloading, replacing ${current.length} workers`);
        for (const w of current) w.replaceMe = true;
        return;
      }
      case 'SIGTERM':
        this.say(`SIGTERM: stopping gracefully (up to ${seconds(config.gracefulMs)})`);
        this.stop('graceful', 0);
        return;
      case 'SIGINT':
      case 'SIGQUIT':
        this.say(`${signal}: stopping now`);
        this.stop('fast', 0);
        return;
      case 'SIGTTIN':
        if (this.s.stopping) return;
        this.s.target += 1;
        this.say(`SIGTTIN: ${this.s.target} workers`);
        return;
      case 'SIGTTOU':
        if (this.s.stopping || this.s.target <= 1) return;
        this.s.target -= 1;
        this.say(`SIGTTOU: ${this.s.target} workers`);
        return;
    }
  }

  tick(): void {
    const { timeoutMs } = this.s.config;
    for (const w of this.s.workers) {
      if (w.killAt !== undefined && this.now >= w.killAt) {
        if (w.killWhy) this.say(w.killWhy);
        this.kill(w);
      }
      if (timeoutMs > 0 && !w.timedOut && this.now - w.lastHeartbeat >= timeoutMs) {
        w.timedOut = true;
        const silent = ((this.now - w.lastHeartbeat) / 1000).toFixed(1);
        this.say(`worker ${w.pid} sent no heartbeat for ${silent} s (timeout ${seconds(timeoutMs)}), killing it once it says where it is stuck`);
        this.actions.push({ type: 'ask-stack', id: w.id });
        w.killAt = this.now + STACK_WAIT_MS;
        w.killWhy = `worker ${w.pid} gave no stack within ${seconds(STACK_WAIT_MS)} (blocked outside JavaScript?), killing it`;
      }
    }
  }

  stack(w: Worker, frames: readonly string[], error: string | undefined): void {
    // Only a worker waiting for its kill asked for one; a late answer changes nothing.
    if (!w.timedOut || w.killAt === undefined) return;
    if (frames.length > 0) {
      this.say(`worker ${w.pid} was stuck here:`);
      for (const frame of frames) this.say(`    at ${frame}`);
    } else {
      this.say(`worker ${w.pid} gave no stack${error ? ` (${error})` : ''}`);
    }
    this.say(`killing worker ${w.pid}`);
    this.kill(w);
  }
}
