/**
 * The pre-fork master on real processes: tests/fixtures/prefork-main.ts runs
 * runPrefork in a child process, real workers serve tests/fixtures/prefork-app.ts
 * on 127.0.0.1, and the tests talk HTTP to them and send the master signals.
 * Bounded for a 2-core machine: one long-lived master for most checks.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../fixtures/prefork-main.ts', import.meta.url));
const APP = fileURLToPath(new URL('../fixtures/prefork-app.ts', import.meta.url));
const BROKEN_APP = fileURLToPath(new URL('../fixtures/prefork-broken-app.ts', import.meta.url));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A master in a child process, with its stderr lines. */
class Master {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  readonly exited: Promise<number | null>;

  constructor(options: Record<string, unknown>) {
    this.child = spawn(process.execPath, [MAIN, JSON.stringify(options)], { stdio: ['ignore', 'inherit', 'pipe'] });
    let partial = '';
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (chunk: string) => {
      partial += chunk;
      const complete = partial.split('\n');
      partial = complete.pop()!;
      this.lines.push(...complete);
    });
    this.exited = once(this.child, 'exit').then(([code]) => code as number | null);
  }

  signal(name: NodeJS.Signals): void {
    this.child.kill(name);
  }

  /** Waits until `count` lines match. */
  async waitFor(pattern: RegExp, count = 1, timeoutMs = 10_000): Promise<RegExpMatchArray[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const matches = this.lines.map((line) => line.match(pattern)).filter((m): m is RegExpMatchArray => m !== null);
      if (matches.length >= count) return matches;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern} x${count}; master said:\n${this.lines.join('\n')}`);
      await sleep(25);
    }
  }

  /** Worker pids that announced listening and have not exited, from the master's own log. */
  livePids(): Set<number> {
    const live = new Set<number>();
    for (const line of this.lines) {
      const listening = /worker (\d+) listening/.exec(line);
      if (listening) live.add(Number(listening[1]));
      const gone = /worker (\d+) (exited|died|killed)/.exec(line);
      if (gone) live.delete(Number(gone[1]));
    }
    return live;
  }

  async waitForLive(count: number, timeoutMs = 10_000): Promise<Set<number>> {
    const deadline = Date.now() + timeoutMs;
    while (this.livePids().size !== count) {
      if (Date.now() > deadline) throw new Error(`expected ${count} live workers; master said:\n${this.lines.join('\n')}`);
      await sleep(25);
    }
    return this.livePids();
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

interface Answer {
  status: number;
  body: string;
}

function get(port: number, path: string, agent?: Agent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent: agent ?? false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    // A connection the master accepted but no worker serves would hang forever: make it a failure.
    req.setTimeout(5_000, () => req.destroy(new Error(`no answer to ${path} within 5 s`)));
    req.end();
  });
}

async function pidOf(port: number, agent?: Agent): Promise<number> {
  const answer = await get(port, '/pid', agent);
  expect(answer.status).toBe(200);
  return Number(answer.body);
}

/** `clients` loops of GET /pid until stopped; every failure is recorded, none is retried. */
function loadLoop(port: number, clients: Array<{ keepAlive: boolean }>) {
  const pids = new Set<number>();
  const failures: string[] = [];
  let ok = 0;
  let running = true;
  const agents: Agent[] = [];
  const loops = clients.map(async ({ keepAlive }) => {
    const agent = keepAlive ? new Agent({ keepAlive: true, maxSockets: 1 }) : undefined;
    if (agent) agents.push(agent);
    while (running) {
      try {
        const answer = await get(port, '/pid', agent);
        if (answer.status !== 200) failures.push(`status ${answer.status}`);
        else {
          ok++;
          pids.add(Number(answer.body));
        }
      } catch (error) {
        failures.push(`${keepAlive ? 'keep-alive' : 'close'}: ${(error as Error).message}`);
      }
    }
  });
  return {
    pids,
    failures,
    get ok() {
      return ok;
    },
    async stop() {
      running = false;
      await Promise.all(loops);
      for (const agent of agents) agent.destroy();
    },
  };
}

describe('pre-fork master (real processes)', () => {
  let port: number;
  let master: Master;

  beforeAll(async () => {
    port = await freePort();
    master = new Master({ appModule: APP, bind: `127.0.0.1:${port}`, workers: 2, timeout: 3, gracefulTimeout: 10 });
    await master.waitForLive(2);
  });
  afterAll(async () => {
    await master?.stop();
  });

  it('serves requests from more than one worker', async () => {
    const seen = new Set<number>();
    for (let i = 0; i < 8; i++) seen.add(await pidOf(port));
    expect(seen.size).toBe(2);
    expect(seen).toEqual(master.livePids());
  });

  it('SIGHUP under load: no failed request, all workers replaced', async () => {
    const before = master.livePids();
    const load = loadLoop(port, [{ keepAlive: false }, { keepAlive: true }, { keepAlive: true }]);
    await sleep(500);
    master.signal('SIGHUP');
    await master.waitFor(/after retiring/, 2);
    await sleep(500);
    await load.stop();
    expect(load.failures).toEqual([]);
    expect(load.ok).toBeGreaterThan(50);
    const after = master.livePids();
    expect(after.size).toBe(2);
    for (const pid of after) expect(before.has(pid)).toBe(false);
    // The load saw old and new workers.
    expect([...load.pids].some((pid) => before.has(pid))).toBe(true);
    expect([...load.pids].some((pid) => after.has(pid))).toBe(true);
  });

  it('replaces a worker killed with SIGKILL', async () => {
    const before = master.livePids();
    const victim = [...before][0];
    process.kill(victim, 'SIGKILL');
    await master.waitFor(new RegExp(`worker ${victim} died unexpectedly \\(signal SIGKILL\\); respawning`));
    const after = await master.waitForLive(2);
    expect(after.has(victim)).toBe(false);
    const seen = new Set<number>();
    for (let i = 0; i < 6; i++) seen.add(await pidOf(port));
    expect(seen).toEqual(after);
  });

  it('logs where a worker stuck longer than --timeout is, then kills and replaces it', async () => {
    const before = master.livePids();
    const stuck = get(port, '/spin').then(
      (answer) => `answered ${answer.status}`,
      (error: Error) => error.message,
    );
    const [match] = await master.waitFor(/worker (\d+) sent no heartbeat for [\d.]+ s \(timeout 3 s\), killing it/, 1, 7_000);
    const victim = Number(match[1]);
    expect(before.has(victim)).toBe(true);
    await master.waitFor(new RegExp(`worker ${victim} killed after its heartbeat timed out; respawning`));
    // The stack of the stuck main thread, innermost frame first (the function that spins, in the app's file),
    // logged before the kill.
    const stackAt = master.lines.findIndex((line) => line.endsWith(`worker ${victim} was stuck here:`));
    const killedAt = master.lines.findIndex((line) => line.includes(`worker ${victim} killed after its heartbeat timed out`));
    expect(stackAt).toBeGreaterThan(-1);
    expect(stackAt).toBeLessThan(killedAt);
    expect(master.lines[stackAt + 1]).toMatch(/\] {5}at spinForever \(file:\/\/.*\/tests\/fixtures\/prefork-app\.ts:\d+:\d+\)$/);
    expect(master.lines[stackAt + 2]).toMatch(/\] {5}at app \(file:\/\/.*\/tests\/fixtures\/prefork-app\.ts:\d+:\d+\)$/);
    // The request the stuck worker held dies with it: the client sees the connection go, not an answer.
    expect(await stuck).not.toMatch(/^answered/);
    const after = await master.waitForLive(2);
    expect(after.has(victim)).toBe(false);
  });

  it('kills a worker blocked outside JavaScript 2 s after asking, without a stack', async () => {
    const stuck = get(port, '/block-native?ms=9000').then(
      (answer) => `answered ${answer.status}`,
      (error: Error) => error.message,
    );
    // The second timeout of this master (the first was /spin's).
    const [, match] = await master.waitFor(/worker (\d+) sent no heartbeat for [\d.]+ s \(timeout 3 s\), killing it/, 2, 7_000);
    const victim = Number(match![1]);
    await master.waitFor(new RegExp(`worker ${victim} gave no stack within 2 s \\(blocked outside JavaScript\\?\\), killing it`), 1, 4_000);
    await master.waitFor(new RegExp(`worker ${victim} killed after its heartbeat timed out; respawning`));
    expect(master.lines.some((line) => line.endsWith(`worker ${victim} was stuck here:`))).toBe(false);
    expect(await stuck).not.toMatch(/^answered/);
    await master.waitForLive(2);
  });

  it('SIGTTIN adds a worker, SIGTTOU removes one', async () => {
    master.signal('SIGTTIN');
    await master.waitFor(/SIGTTIN: 3 workers/);
    await master.waitForLive(3);
    master.signal('SIGTTOU');
    await master.waitFor(/SIGTTOU: 2 workers/);
    const after = await master.waitForLive(2);
    const seen = new Set<number>();
    for (let i = 0; i < 6; i++) seen.add(await pidOf(port));
    expect(seen).toEqual(after);
  });

  it('SIGTERM stops gracefully: a slow request in flight completes, then the master exits 0', async () => {
    const slow = get(port, '/slow?ms=1500');
    await sleep(300);
    master.signal('SIGTERM');
    await master.waitFor(/SIGTERM: stopping gracefully/);
    // New connections are refused once the workers stopped listening...
    const answer = await slow;
    expect(answer.status).toBe(200);
    expect(answer.body).toMatch(/^slept 1500 ms/);
    expect(await master.exited).toBe(0);
    await expect(get(port, '/pid')).rejects.toThrow(/ECONNREFUSED/);
    // Workers share the master's stderr: none of the retired or stopped ones left its stack reporter's
    // inspector session connected (Node then prints "Waiting for the debugger to disconnect...").
    expect(master.lines.filter((line) => /debugger/i.test(line))).toEqual([]);
  });
});

describe('pre-fork master: max-requests', () => {
  let master: Master | undefined;
  afterAll(async () => {
    await master?.stop();
  });

  it('retires workers after max-requests (+ jitter) with a replacement first, losing no request', async () => {
    const port = await freePort();
    master = new Master({ appModule: APP, bind: `127.0.0.1:${port}`, workers: 2, maxRequests: 15, maxRequestsJitter: 5 });
    const first = await master.waitForLive(2);
    const load = loadLoop(port, [{ keepAlive: false }, { keepAlive: true }]);
    await master.waitFor(/after retiring/, 2);
    await load.stop();
    expect(load.failures).toEqual([]);
    const [asked] = await master.waitFor(/worker \d+ served (\d+) requests \(max-requests\), replacing it/);
    const served = Number(asked[1]);
    expect(served).toBeGreaterThanOrEqual(15);
    expect(served).toBeLessThanOrEqual(20);
    expect([...load.pids].some((pid) => !first.has(pid))).toBe(true);
    master.signal('SIGTERM');
    expect(await master.exited).toBe(0);
  });
});

describe('pre-fork master: unix socket', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsgi-prefork-'));
  const path = join(dir, 'app.sock');
  let master: Master | undefined;
  afterAll(async () => {
    await master?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('removes a stale socket left by a killed server, applies the mode and serves on it', async () => {
    // A server that dies by SIGKILL leaves its socket file behind.
    const killed = spawn(process.execPath, ['-e', 'require("net").createServer().listen(process.argv[1])', path]);
    while (!existsSync(path)) await sleep(10);
    killed.kill('SIGKILL');
    await once(killed, 'exit');
    expect(statSync(path).isSocket()).toBe(true);

    master = new Master({ appModule: APP, bind: `unix:${path}`, workers: 1, socketMode: 0o660 });
    await master.waitForLive(1);
    const answer = await new Promise<string>((resolve, reject) => {
      const req = httpRequest({ socketPath: path, path: '/pid', agent: false }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk));
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
      req.end();
    });
    expect(master.livePids()).toEqual(new Set([Number(answer)]));
    await sleep(100); // the mode is applied right after the first worker listens
    expect(statSync(path).mode & 0o777).toBe(0o660);
    master.signal('SIGTERM');
    expect(await master.exited).toBe(0);
    expect(existsSync(path)).toBe(false);
  });

  it('refuses a socket another server is accepting on', async () => {
    const live = createServer((socket) => socket.end());
    live.listen(path);
    await once(live, 'listening');
    try {
      const other = new Master({ appModule: APP, bind: `unix:${path}`, workers: 1 });
      expect(await other.exited).toBe(3);
      expect(other.lines.join('\n')).toMatch(/another server is accepting on it/);
      // Still the live server's socket.
      const client = connect(path);
      await once(client, 'connect');
      client.destroy();
    } finally {
      await new Promise((resolve) => live.close(resolve));
    }
  });
});

describe('pre-fork master: reload with an app that no longer boots', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsgi-prefork-reload-'));
  let master: Master | undefined;
  afterAll(async () => {
    await master?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the running workers instead of stopping', async () => {
    const app = join(dir, 'app.ts');
    copyFileSync(APP, app);
    const port = await freePort();
    master = new Master({ appModule: app, bind: `127.0.0.1:${port}`, workers: 2 });
    const before = await master.waitForLive(2);
    writeFileSync(app, 'throw new Error("broken by the deploy");\n');
    master.signal('SIGHUP');
    await master.waitFor(/replacement aborted: keeping the 2 running workers/);
    expect(master.lines.join('\n')).toMatch(/failed to boot: cannot load the app ".*broken by the deploy/);
    const seen = new Set<number>();
    for (let i = 0; i < 6; i++) seen.add(await pidOf(port));
    expect(seen).toEqual(before);
    expect(master.child.exitCode).toBeNull();
  });
});

describe('pre-fork master: boot error', () => {
  it('stops with a message naming the module and a non-zero exit, without crash-looping', async () => {
    const port = await freePort();
    const started = Date.now();
    const master = new Master({ appModule: BROKEN_APP, bind: `127.0.0.1:${port}`, workers: 2 });
    try {
      const code = await master.exited;
      const log = master.lines.join('\n');
      expect(code).toBe(3);
      expect(Date.now() - started).toBeLessThan(8_000);
      expect(log).toMatch(/failed to boot: cannot load the app "[^"]*prefork-broken-app\.ts/);
      expect(log).toMatch(/prefork-broken-app refuses to load/);
      expect(log).toMatch(/stopping: the app cannot boot/);
      expect(log.match(/booting worker/g)?.length).toBeLessThanOrEqual(2);
    } finally {
      await master.stop();
    }
  });
});

describe('pre-fork worker: library and entry', () => {
  const http = fileURLToPath(new URL('../../gateway/http/', import.meta.url));

  it('importing the worker library starts nothing', () => {
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(join(http, 'worker.ts'))}); console.log('imported');`], {
      encoding: 'utf8',
      env: { ...process.env, TSGI_PREFORK_WORKER: '{}' },
      timeout: 10_000,
    });
    expect(run.stdout).toBe('imported\n');
    expect(run.status).toBe(0);
  });

  it('the entry, run by hand, says what it is for and exits 2', () => {
    const run = spawnSync(process.execPath, [join(http, 'worker-entry.ts')], { encoding: 'utf8', timeout: 10_000 });
    expect(run.stderr).toMatch(/started by the pre-fork master/);
    expect(run.status).toBe(2);
  });
});
