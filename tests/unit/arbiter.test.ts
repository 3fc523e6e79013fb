/**
 * The pre-fork arbiter's decisions, without processes: events in, actions out.
 * The expected actions are the policy written down in gateway/http/arbiter.ts
 * (gunicorn's arbiter): backoff 100 ms doubling to 10 s, replacement first,
 * SIGTERM then SIGKILL after the graceful timeout, the stack asked for before a
 * timeout kill. tests/http/prefork.test.ts proves the same on real processes.
 */
import { describe, expect, it } from 'vitest';
import {
  decide,
  initialState,
  nextDeadline,
  type ArbiterAction,
  type ArbiterConfig,
  type ArbiterEvent,
  type ArbiterState,
  type MasterSignal,
} from '../../gateway/http/arbiter.ts';

const CONFIG: ArbiterConfig = {
  workers: 2,
  timeoutMs: 30_000,
  gracefulMs: 30_000,
  bootFailureLimit: 5,
  bindName: 'unix:/run/app.sock',
  appName: 'app.ts',
  applySocketMode: false,
};

/** A master without processes: worker ids become pids 100, 101, ... as soon as they are spawned. */
class Master {
  state: ArbiterState;
  now = 0;
  readonly actions: ArbiterAction[] = [];

  constructor(config: Partial<ArbiterConfig> = {}) {
    this.state = initialState({ ...CONFIG, ...config });
  }

  /** Sends one event at the current time; forks answer with their pid at once, as the plumbing does. */
  send(event: ArbiterEvent): ArbiterAction[] {
    const { state, actions } = decide(this.state, event, this.now);
    this.state = state;
    this.actions.push(...actions);
    const all = [...actions];
    for (const action of actions) {
      if (action.type === 'spawn') all.push(...this.send({ type: 'spawned', id: action.id, pid: 99 + action.id }));
    }
    return all;
  }

  /** Moves the clock to `at`, delivering a tick at every deadline on the way. */
  advanceTo(at: number): ArbiterAction[] {
    const actions: ArbiterAction[] = [];
    for (let next = nextDeadline(this.state); next !== undefined && next <= at; next = nextDeadline(this.state)) {
      this.now = Math.max(this.now, next);
      actions.push(...this.send({ type: 'tick' }));
    }
    this.now = at;
    return actions;
  }

  idOf(pid: number): number {
    const worker = this.state.workers.find((w) => w.pid === pid);
    if (!worker) throw new Error(`no worker ${pid}`);
    return worker.id;
  }

  listening(pid: number) {
    return this.send({ type: 'listening', id: this.idOf(pid) });
  }

  exited(pid: number, code: number | null, signal: string | null = null) {
    return this.send({ type: 'exited', id: this.idOf(pid), code, signal });
  }

  signal(signal: MasterSignal) {
    return this.send({ type: 'signal', signal });
  }

  /** Heartbeats from every worker now. */
  heartbeats(): void {
    for (const w of this.state.workers) this.send({ type: 'heartbeat', id: w.id });
  }

  pids(): number[] {
    return this.state.workers.map((w) => w.pid);
  }

  /** Started with `count` workers, all listening. */
  static running(config: Partial<ArbiterConfig> = {}): Master {
    const master = new Master(config);
    master.send({ type: 'start' });
    for (const pid of master.pids()) master.listening(pid);
    return master;
  }
}

const logs = (actions: ArbiterAction[]) => actions.flatMap((a) => (a.type === 'log' ? [a.line] : []));
const spawns = (actions: ArbiterAction[]) => actions.filter((a) => a.type === 'spawn').length;
/** "SIGTERM 100" for each kill, pid from the id as Master assigns them. */
const kills = (actions: ArbiterAction[]) => actions.flatMap((a) => (a.type === 'kill' ? [`${a.signal} ${99 + a.id}`] : []));
const exits = (actions: ArbiterAction[]) => actions.flatMap((a) => (a.type === 'exit' ? [a.code] : []));

describe('arbiter: start and steady state', () => {
  it('spawns nothing before start, then the configured number of workers', () => {
    const master = new Master({ workers: 3 });
    expect(master.send({ type: 'tick' })).toEqual([]);
    const actions = master.send({ type: 'start' });
    expect(logs(actions)).toEqual([
      'starting 3 workers on unix:/run/app.sock for app.ts',
      'booting worker 100',
      'booting worker 101',
      'booting worker 102',
    ]);
    expect(spawns(actions)).toBe(3);
  });

  it('runs at least one worker', () => {
    const master = new Master({ workers: 0 });
    expect(spawns(master.send({ type: 'start' }))).toBe(1);
  });

  it('applies the socket mode once, when the first worker listens', () => {
    const master = new Master({ applySocketMode: true });
    master.send({ type: 'start' });
    expect(master.listening(100).filter((a) => a.type === 'apply-socket-mode')).toHaveLength(1);
    expect(master.listening(101).filter((a) => a.type === 'apply-socket-mode')).toHaveLength(0);
  });

  it('does nothing while heartbeats come; the next deadline is the oldest heartbeat plus the timeout', () => {
    const master = Master.running({ timeoutMs: 10_000 });
    for (let t = 2_500; t <= 60_000; t += 2_500) {
      expect(master.advanceTo(t)).toEqual([]);
      master.heartbeats();
    }
    expect(nextDeadline(master.state)).toBe(70_000);
  });

  it('has no deadline at all with the timeout disabled and every worker up', () => {
    const master = Master.running({ timeoutMs: 0 });
    expect(nextDeadline(master.state)).toBeUndefined();
  });

  it('answers a worker that closed its server with bye', () => {
    const master = Master.running();
    expect(master.send({ type: 'closed', id: master.idOf(101) })).toEqual([{ type: 'send-bye', id: 2 }]);
  });

  it('ignores events from workers it no longer knows', () => {
    const master = Master.running();
    const before = master.state;
    expect(master.send({ type: 'exited', id: 42, code: 0, signal: null })).toEqual([]);
    expect(master.send({ type: 'listening', id: 42 })).toEqual([]);
    expect(master.state.workers).toEqual(before.workers);
  });

  it('never changes the state it is given', () => {
    const master = Master.running({ timeoutMs: 1_000 });
    const frozen = structuredClone(master.state);
    const deepFreeze = (value: unknown): void => {
      if (value && typeof value === 'object') {
        Object.freeze(value);
        for (const inner of Object.values(value)) deepFreeze(inner);
      }
    };
    deepFreeze(master.state);
    const events: ArbiterEvent[] = [
      { type: 'tick' },
      { type: 'signal', signal: 'SIGHUP' },
      { type: 'signal', signal: 'SIGTTOU' },
      { type: 'exited', id: 1, code: 1, signal: null },
      { type: 'signal', signal: 'SIGTERM' },
    ];
    let state = master.state;
    for (const event of events) state = decide(state, event, 5_000).state;
    expect(master.state).toEqual(frozen);
  });
});

describe('arbiter: a worker that dies', () => {
  it('is replaced after 100 ms, not before', () => {
    const master = Master.running({ timeoutMs: 0 });
    master.now = 60_000;
    const actions = master.exited(100, null, 'SIGKILL');
    expect(logs(actions)).toEqual(['worker 100 died unexpectedly (signal SIGKILL); respawning in 100 ms']);
    expect(spawns(actions)).toBe(0);
    expect(nextDeadline(master.state)).toBe(60_100);
    expect(spawns(master.advanceTo(60_099))).toBe(0);
    const respawn = master.advanceTo(60_100);
    expect(spawns(respawn)).toBe(1);
    expect(logs(respawn)).toEqual(['booting worker 102']);
  });

  it('backs off while workers keep crashing: 100, 200, 400 ... up to 10 s, and resets once one stayed up 5 s', () => {
    const master = Master.running({ workers: 1 });
    const delays: number[] = [];
    for (let i = 0; i < 9; i++) {
      const [pid] = master.pids();
      master.listening(pid!);
      master.now += 1_000; // served a second, then crashed
      const [line] = logs(master.exited(pid!, 1));
      delays.push(Number(/respawning in (\d+) ms/.exec(line!)![1]));
      master.advanceTo(nextDeadline(master.state)!);
    }
    expect(delays).toEqual([100, 200, 400, 800, 1_600, 3_200, 6_400, 10_000, 10_000]);
    // One that stays up 5 s resets the streak.
    const [pid] = master.pids();
    master.listening(pid!);
    master.now += 5_000;
    expect(logs(master.exited(pid!, 1))).toEqual([`worker ${pid} died unexpectedly (code 1); respawning in 100 ms`]);
  });

  it('stops the master when a worker cannot boot (exit code 3), without a respawn', () => {
    const master = new Master();
    master.send({ type: 'start' });
    master.send({ type: 'boot-error', id: 1, message: 'cannot load the app "app.ts": SyntaxError\n    at stack' });
    const actions = master.exited(100, 3);
    expect(logs(actions)).toEqual([
      'worker 100 failed to boot: cannot load the app "app.ts": SyntaxError',
      'stopping: the app cannot boot',
      'retiring worker 101 (stopping)',
    ]);
    expect(kills(actions)).toEqual(['SIGTERM 101']);
    expect(spawns(actions)).toBe(0);
    expect(exits(master.exited(101, 0))).toEqual([3]);
  });

  it('takes exit code 3 before listening as a boot failure even without the message', () => {
    const master = new Master({ workers: 1 });
    master.send({ type: 'start' });
    const actions = master.exited(100, 3);
    expect(logs(actions)).toEqual([
      'worker 100 failed to boot: exited with code 3 before listening',
      'stopping: the app cannot boot',
      'stopped (exit code 3)',
    ]);
    expect(exits(actions)).toEqual([3]);
  });

  it('gives up after bootFailureLimit workers in a row die before listening; one that listens resets the count', () => {
    const master = new Master({ workers: 1, bootFailureLimit: 3 });
    master.send({ type: 'start' });
    const crashBeforeListening = () => {
      const actions = master.exited(master.pids()[0]!, null, 'SIGSEGV');
      master.advanceTo(master.now + 20_000);
      return actions;
    };
    crashBeforeListening();
    crashBeforeListening();
    master.listening(master.pids()[0]!);
    master.now += 10_000;
    master.exited(master.pids()[0]!, 1);
    master.advanceTo(master.now + 20_000);
    expect(logs(crashBeforeListening())).toEqual([expect.stringMatching(/died before listening \(signal SIGSEGV\), 1 in a row$/), expect.stringMatching(/respawning/)]);
    crashBeforeListening();
    const last = crashBeforeListening();
    expect(logs(last)).toEqual([
      expect.stringMatching(/died before listening \(signal SIGSEGV\), 3 in a row$/),
      '3 workers in a row died before listening; the app cannot boot',
      'stopping: the app cannot boot',
      'stopped (exit code 3)',
    ]);
    expect(exits(last)).toEqual([3]);
  });

  it('lets a replacement simply count as a worker when the one it was to replace dies first', () => {
    const master = Master.running();
    master.signal('SIGHUP');
    expect(master.pids()).toEqual([100, 101, 102, 103]);
    // 102 was booting to replace 100: it takes its place, no extra worker is forked.
    expect(spawns(master.exited(100, null, 'SIGKILL'))).toBe(0);
    expect(spawns(master.advanceTo(master.now + 1_000))).toBe(0);
    expect(master.pids()).toEqual([101, 102, 103]);
    expect(master.state.workers.find((w) => w.pid === 102)?.replaces).toBeUndefined();
  });
});

describe('arbiter: the timeout', () => {
  it('asks a silent worker where it is stuck, logs the stack, then kills it; the kill counts as a crash', () => {
    const master = Master.running({ timeoutMs: 30_000 });
    master.now = 10_000;
    master.send({ type: 'heartbeat', id: master.idOf(101) });
    const asked = master.advanceTo(30_000);
    expect(asked).toEqual([
      { type: 'log', line: 'worker 100 sent no heartbeat for 30.0 s (timeout 30 s), killing it once it says where it is stuck' },
      { type: 'ask-stack', id: 1 },
    ]);
    master.now = 30_040;
    const answered = master.send({ type: 'stack', id: 1, frames: ['spin (file:///app.ts:3:5)', 'app (file:///app.ts:9:3)'] });
    expect(logs(answered)).toEqual([
      'worker 100 was stuck here:',
      '    at spin (file:///app.ts:3:5)',
      '    at app (file:///app.ts:9:3)',
      'killing worker 100',
    ]);
    expect(kills(answered)).toEqual(['SIGKILL 100']);
    // Nothing more for it: no second kill when its stack deadline would have come.
    expect(kills(master.advanceTo(33_000))).toEqual([]);
    expect(logs(master.exited(100, null, 'SIGKILL'))).toEqual(['worker 100 killed after its heartbeat timed out; respawning in 100 ms']);
    expect(logs(master.advanceTo(40_000)).filter((line) => line.startsWith('worker 101'))).toEqual([
      'worker 101 sent no heartbeat for 30.0 s (timeout 30 s), killing it once it says where it is stuck',
    ]);
  });

  it('kills it anyway when no stack comes within 2 s', () => {
    const master = Master.running({ workers: 1, timeoutMs: 5_000 });
    master.advanceTo(5_000);
    expect(kills(master.advanceTo(6_999))).toEqual([]);
    const killed = master.advanceTo(7_000);
    expect(logs(killed)).toEqual(['worker 100 gave no stack within 2 s (blocked outside JavaScript?), killing it']);
    expect(kills(killed)).toEqual(['SIGKILL 100']);
  });

  it('logs why there is no stack when the worker says so', () => {
    const master = Master.running({ workers: 1, timeoutMs: 5_000 });
    master.advanceTo(5_000);
    const actions = master.send({ type: 'stack', id: 1, frames: [], error: 'no stack channel' });
    expect(logs(actions)).toEqual(['worker 100 gave no stack (no stack channel)', 'killing worker 100']);
    expect(kills(actions)).toEqual(['SIGKILL 100']);
  });

  it('ignores a stack nobody asked for, and a second one', () => {
    const master = Master.running({ workers: 1, timeoutMs: 5_000 });
    expect(master.send({ type: 'stack', id: 1, frames: ['x (y:1:1)'] })).toEqual([]);
    master.advanceTo(5_000);
    master.send({ type: 'stack', id: 1, frames: ['x (y:1:1)'] });
    expect(master.send({ type: 'stack', id: 1, frames: ['x (y:1:1)'] })).toEqual([]);
  });

  it('also catches a worker whose import blocks before it ever listens', () => {
    const master = new Master({ workers: 1, timeoutMs: 5_000 });
    master.send({ type: 'start' });
    expect(master.advanceTo(5_000)).toContainEqual({ type: 'ask-stack', id: 1 });
  });
});

describe('arbiter: replacing workers (max-requests, SIGHUP)', () => {
  it('max-requests: the replacement boots first, the old worker is retired once it listens, nothing else respawns', () => {
    const master = Master.running();
    const asked = master.send({ type: 'retire-me', id: master.idOf(100), requests: 1_007 });
    expect(logs(asked)).toEqual(['worker 100 served 1007 requests (max-requests), replacing it', 'booting worker 102 to replace worker 100']);
    expect(kills(asked)).toEqual([]);
    // Asking twice changes nothing.
    expect(master.send({ type: 'retire-me', id: master.idOf(100), requests: 1_008 })).toEqual([]);
    const listened = master.listening(102);
    expect(logs(listened)).toEqual(['worker 102 listening on unix:/run/app.sock', 'retiring worker 100 (replaced by worker 102)']);
    expect(kills(listened)).toEqual(['SIGTERM 100']);
    const exited = master.exited(100, 0);
    expect(logs(exited)).toEqual(['worker 100 exited (code 0) after retiring']);
    expect(spawns(exited)).toBe(0);
    expect(master.pids()).toEqual([101, 102]);
  });

  it('SIGHUP under load: never fewer listening workers than the target, every old one replaced', () => {
    const master = Master.running({ workers: 3 });
    const listeningCount = () => master.state.workers.filter((w) => w.listening && !w.retiring).length;
    master.signal('SIGHUP');
    expect(master.pids()).toEqual([100, 101, 102, 103, 104, 105]);
    // Replacements come up out of order, while the old ones keep serving.
    for (const pid of [105, 103, 104]) {
      master.listening(pid);
      expect(listeningCount()).toBeGreaterThanOrEqual(3);
    }
    expect(kills(master.actions)).toEqual(['SIGTERM 102', 'SIGTERM 100', 'SIGTERM 101']);
    for (const pid of [100, 101, 102]) master.exited(pid, 0);
    expect(master.pids()).toEqual([103, 104, 105]);
    expect(spawns(master.advanceTo(60_000))).toBe(0);
  });

  it('a reload whose new workers cannot boot keeps the running ones', () => {
    const master = Master.running();
    master.signal('SIGHUP');
    master.send({ type: 'boot-error', id: master.idOf(102), message: 'broken by the deploy' });
    const actions = master.exited(102, 3);
    expect(logs(actions)).toEqual([
      'worker 102 failed to boot: broken by the deploy',
      'replacement aborted: keeping the 2 running workers',
      'retiring worker 103 (replacement aborted)',
    ]);
    expect(kills(actions)).toEqual(['SIGTERM 103']);
    master.exited(103, 0);
    expect(master.pids()).toEqual([100, 101]);
    expect(exits(master.actions)).toEqual([]);
    // No retry of the reload on its own.
    expect(spawns(master.advanceTo(120_000))).toBe(0);
  });

  it('SIGTTIN adds a worker; SIGTTOU retires a booting one first, then the oldest; never below one', () => {
    const master = Master.running();
    const added = master.signal('SIGTTIN');
    expect(logs(added)).toEqual(['SIGTTIN: 3 workers', 'booting worker 102']);
    const lowered = master.signal('SIGTTOU');
    expect(logs(lowered)).toEqual(['SIGTTOU: 2 workers', 'retiring worker 102 (worker count lowered to 2)']);
    master.exited(102, 0);
    expect(kills(master.signal('SIGTTOU'))).toEqual(['SIGTERM 100']);
    master.exited(100, 0);
    expect(master.signal('SIGTTOU')).toEqual([]);
    expect(master.pids()).toEqual([101]);
  });
});

describe('arbiter: stopping', () => {
  it('SIGTERM: every worker drains; exit 0 once the last has gone', () => {
    const master = Master.running();
    const actions = master.signal('SIGTERM');
    expect(logs(actions)).toEqual(['SIGTERM: stopping gracefully (up to 30 s)', 'retiring worker 100 (stopping)', 'retiring worker 101 (stopping)']);
    expect(kills(actions)).toEqual(['SIGTERM 100', 'SIGTERM 101']);
    expect(exits(master.exited(100, 0))).toEqual([]);
    const last = master.exited(101, 0);
    expect(logs(last)).toEqual(['worker 101 exited (code 0)', 'stopped (exit code 0)']);
    expect(exits(last)).toEqual([0]);
    expect(nextDeadline(master.state)).toBeUndefined();
    expect(master.send({ type: 'signal', signal: 'SIGTERM' })).toEqual([]);
  });

  it('SIGTERM: a worker still running after the graceful timeout is killed', () => {
    const master = Master.running({ gracefulMs: 4_000 });
    master.now = 1_000;
    master.signal('SIGTERM');
    master.exited(100, 0);
    expect(kills(master.advanceTo(4_999))).toEqual([]);
    const late = master.advanceTo(5_000);
    expect(logs(late)).toEqual(['worker 101 still running 4 s after SIGTERM, killing it']);
    expect(kills(late)).toEqual(['SIGKILL 101']);
    expect(exits(master.exited(101, null, 'SIGKILL'))).toEqual([0]);
  });

  it('a worker that crashes during the stop is not replaced', () => {
    const master = Master.running();
    master.signal('SIGTERM');
    const crashed = master.exited(100, null, 'SIGSEGV');
    expect(logs(crashed)).toEqual(['worker 100 exited (signal SIGSEGV)']);
    expect(spawns(crashed) + spawns(master.advanceTo(10_000))).toBe(0);
  });

  it('a worker still booting when SIGTERM came is stopped once, not again when it listens', () => {
    const master = new Master();
    master.send({ type: 'start' });
    master.signal('SIGTERM');
    expect(kills(master.listening(100))).toEqual([]);
    expect(kills(master.actions)).toEqual(['SIGTERM 100', 'SIGTERM 101']);
  });

  it('stops at once when no worker is running (all crashed, waiting for the backoff)', () => {
    const master = Master.running({ workers: 1 });
    master.exited(100, 1);
    const actions = master.signal('SIGTERM');
    expect(exits(actions)).toEqual([0]);
    expect(spawns(master.advanceTo(60_000))).toBe(0);
  });

  it('SIGINT and SIGQUIT stop fast: SIGINT, then SIGKILL after 2 s', () => {
    for (const signal of ['SIGINT', 'SIGQUIT'] as const) {
      const master = Master.running();
      const actions = master.signal(signal);
      expect(logs(actions)).toEqual([`${signal}: stopping now`]);
      expect(kills(actions)).toEqual(['SIGINT 100', 'SIGINT 101']);
      master.exited(100, null, 'SIGINT');
      expect(kills(master.advanceTo(1_999))).toEqual([]);
      expect(kills(master.advanceTo(2_000))).toEqual(['SIGKILL 101']);
    }
  });

  it('SIGINT after SIGTERM turns the graceful stop into a fast one', () => {
    const master = Master.running({ gracefulMs: 30_000 });
    master.signal('SIGTERM');
    master.now = 500;
    expect(kills(master.signal('SIGINT'))).toEqual(['SIGINT 100', 'SIGINT 101']);
    expect(kills(master.advanceTo(2_500))).toEqual(['SIGKILL 100', 'SIGKILL 101']);
  });

  it('SIGTERM after SIGINT changes nothing: the fast stop goes on', () => {
    const master = Master.running();
    master.signal('SIGINT');
    expect(master.signal('SIGTERM')).toEqual([{ type: 'log', line: 'SIGTERM: stopping gracefully (up to 30 s)' }]);
    expect(kills(master.advanceTo(2_000))).toEqual(['SIGKILL 100', 'SIGKILL 101']);
  });

  it('ignores SIGHUP, SIGTTIN, SIGTTOU and max-requests while stopping', () => {
    const master = Master.running();
    master.signal('SIGTERM');
    for (const signal of ['SIGHUP', 'SIGTTIN', 'SIGTTOU'] as const) expect(master.signal(signal)).toEqual([]);
    expect(master.send({ type: 'retire-me', id: 1, requests: 10 })).toEqual([]);
  });

  it('a graceful stop during a reload stops old and new workers alike', () => {
    const master = Master.running();
    master.signal('SIGHUP');
    master.listening(102);
    master.now = 100;
    const actions = master.signal('SIGTERM');
    // 100 is already retiring (its SIGTERM went when 102 listened); the others get theirs now.
    expect(kills(actions)).toEqual(['SIGTERM 101', 'SIGTERM 102', 'SIGTERM 103']);
    for (const pid of [100, 101, 102]) master.exited(pid, 0);
    expect(exits(master.exited(103, 0))).toEqual([0]);
  });

  it('a timed-out worker is still killed during a graceful stop', () => {
    const master = Master.running({ workers: 1, timeoutMs: 5_000, gracefulMs: 30_000 });
    master.signal('SIGTERM');
    master.advanceTo(5_000);
    expect(kills(master.advanceTo(7_000))).toEqual(['SIGKILL 100']);
    expect(exits(master.exited(100, null, 'SIGKILL'))).toEqual([0]);
  });
});
