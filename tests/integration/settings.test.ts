/**
 * The container settings, on real containers of every selected mode:
 *   - a bad MOUNT (or APP_MODULE) stops the container before any server
 *     starts: the rule and the value in its log, exit status 64, and under
 *     compose.yaml's own restart policy a few tries and then "exited", not a
 *     restart loop;
 *   - another app (examples/hono, a real Hono app with its node_modules) in a
 *     bind-mounted directory, served through APP_MODULE at a two-segment
 *     mount with APP_HIDE_MOUNT, answers from every mode; in apache-fcgid the
 *     pool warm-up still starts both processes without the built-in app's routes.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { HOST } from './corpus.ts';
import { containerLogs, containerProcesses, docker, healthStatus, startWithHostPort } from './docker.ts';
import { dockerRunFlags, hardenedContainer } from './hardening.ts';
import { CONTAINER_LABEL, imageTag, OWNER_LABEL, selectedModes, type Mode } from './matrix.ts';
import { header, headerValues, send } from './raw-http.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const modes = selectedModes();
const labels = (what: string) => ['--label', `${CONTAINER_LABEL}=${what}`, '--label', `${OWNER_LABEL}=${process.pid}`];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * compose.yaml as compose itself resolves it (its x-mode anchor merged into
 * every service): `docker compose config` (v2), else Debian's docker-compose.
 */
function resolvedCompose(): string {
  const args = ['-f', join(ROOT, 'compose.yaml'), '--profile', 'all', 'config'];
  try {
    return execFileSync('docker', ['compose', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return execFileSync('docker-compose', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }
}

/** The `restart:` policy compose.yaml gives a mode's service. */
function composeRestartPolicy(mode: Mode): string {
  const lines = resolvedCompose().split('\n');
  const start = lines.indexOf(`  ${mode}:`);
  if (start === -1) throw new Error(`compose.yaml has no service ${mode}`);
  for (const line of lines.slice(start + 1)) {
    if (/^ {2}\S/.test(line)) break;
    const match = /^\s+restart:\s*(\S+)/.exec(line);
    if (match) return match[1]!;
  }
  throw new Error(`compose.yaml: service ${mode} has no restart policy`);
}

interface State { status: string; restarting: boolean; exitCode: number; restarts: number }

async function state(id: string): Promise<State> {
  const run = await docker(['inspect', '--format', '{{.State.Status}} {{.State.Restarting}} {{.State.ExitCode}} {{.RestartCount}}', id]);
  const [status = '', restarting, exitCode, restarts] = run.stdout.trim().split(' ');
  return { status, restarting: restarting === 'true', exitCode: Number(exitCode), restarts: Number(restarts) };
}

const BAD_MOUNT = '/my blog';
const RULE = 'A mount is "" or "/" (the root), or path segments like /team-1/app.v2';

describe.each(modes)('%s: a bad MOUNT', (mode) => {
  test('stops the container with the rule and the value, status 64, and compose\'s restart policy gives up', { timeout: 90_000 }, async () => {
    const policy = composeRestartPolicy(mode);
    const retries = /^on-failure:(\d+)$/.exec(policy);
    expect(retries, `compose.yaml's restart policy for ${mode} must stop retrying (on-failure:N), not ${policy}`).not.toBeNull();
    const run = await docker(['run', '-d', '--restart', policy, ...dockerRunFlags(mode), '-e', `APP_MOUNT=${BAD_MOUNT}`, ...labels(`${mode}-bad-mount`), imageTag(mode)]);
    expect(run.code, run.stderr).toBe(0);
    const id = run.stdout.trim();
    try {
      // Docker's own backoff between tries (100 ms, doubling): poll until it has given up.
      let now = await state(id);
      for (let waited = 0; (now.status !== 'exited' || now.restarting) && waited < 60_000; waited += 250) {
        await sleep(250);
        now = await state(id);
      }
      expect(now).toEqual({ status: 'exited', restarting: false, exitCode: 64, restarts: Number(retries![1]) });
      const logs = await containerLogs(id);
      const refusal = `bad mount APP_MOUNT="${BAD_MOUNT}" (MOUNT for make and compose): a character outside the rule. ${RULE}`;
      expect(logs.split('\n').filter((line) => line.startsWith(refusal)), 'the reason, once per try').toHaveLength(Number(retries![1]) + 1);
      expect(logs, 'no server started').not.toMatch(/apache|nginx|lighttpd|supervisord|AH\d{5}/i);
    } finally {
      await docker(['rm', '-f', id]);
    }
  });
});

describe('a bad APP_MODULE', () => {
  test('stops the container with the reason and status 64 (a missing file, a relative path)', async () => {
    const run = await docker(['run', '--rm', ...dockerRunFlags(modes[0]!), '-e', 'APP_MODULE=/srv/app/missing.ts', ...labels('bad-module'), imageTag(modes[0]!)]);
    expect(run.code).toBe(64);
    expect(run.stderr).toContain('bad app module APP_MODULE="/srv/app/missing.ts": there is no file /srv/app/missing.ts in the container');
    const relative = await docker(['run', '--rm', ...dockerRunFlags(modes[0]!), '-e', 'APP_MODULE=app/app.ts', ...labels('bad-module'), imageTag(modes[0]!)]);
    expect(relative.code).toBe(64);
    expect(relative.stderr).toContain('bad app module APP_MODULE="app/app.ts": an absolute path in the container, like /srv/app/app.ts');
  });
});

const MOUNT = '/team-1/app.v2';
/** examples/hono with its dependency, as a user would bind-mount it (the images never run npm). */
const appDir = mkdtempSync(join(tmpdir(), 'yourapplication-hono-'));
const started = new Map<Mode, { id: string; port: number }>();

beforeAll(async () => {
  cpSync(join(ROOT, 'examples/hono/app.ts'), join(appDir, 'app.ts'));
  cpSync(join(ROOT, 'examples/hono/package.json'), join(appDir, 'package.json'));
  cpSync(join(ROOT, 'node_modules/hono'), join(appDir, 'node_modules/hono'), { recursive: true });
  chmodSync(appDir, 0o755); // the containers' www-data must read it
  const { Wait } = await import('testcontainers');
  // Two at a time: this runs on two cores next to the matrix's containers.
  const queue = [...modes];
  await Promise.all([0, 1].map(async () => {
    for (let mode = queue.shift(); mode; mode = queue.shift()) {
      const container = await startWithHostPort(`${CONTAINER_LABEL}=${mode}-hono`, async (hostPort) => (await hardenedContainer(imageTag(mode), mode))
        .withEnvironment({ APP_MOUNT: MOUNT, APP_MODULE: '/srv/app/app.ts', APP_HIDE_MOUNT: 'true' })
        .withBindMounts([{ source: appDir, target: '/srv/app', mode: 'ro' }])
        .withExposedPorts({ container: 8080, host: hostPort })
        .withLabels({ [CONTAINER_LABEL]: `${mode}-hono`, [OWNER_LABEL]: String(process.pid) })
        .withWaitStrategy(Wait.forHttp(`${MOUNT}/hello`, 8080).forStatusCode(200))
        .withStartupTimeout(60_000)
        .start());
      started.set(mode, { id: container.getId(), port: container.getMappedPort(8080) });
    }
  }));
}, 300_000);

afterAll(async () => {
  if (started.size > 0) await docker(['rm', '-f', ...[...started.values()].map((c) => c.id)]);
  rmSync(appDir, { recursive: true, force: true });
});

describe.each(modes)('%s: a Hono app from a bind-mounted directory (APP_MODULE) at /team-1/app.v2', (mode) => {
  const get = (target: string) => send({ method: 'GET', target, headers: [['Host', HOST]] }, { port: started.get(mode)!.port });

  test('answers on its own routes below the mount, seeing URLs without it', async () => {
    const hello = await get(`${MOUNT}/hello`);
    expect({ status: hello.status, body: hello.body.toString() }).toEqual({ status: 200, body: 'Hello from Hono!\n' });
    const where = await get(`${MOUNT}/where?x=1`);
    expect(JSON.parse(where.body.toString())).toEqual({ path: '/where', url: `http://${HOST}/where?x=1` });
    expect((await get('/hello')).status, 'outside the mount: the server\'s 404').toBe(404);
  });

  test('its redirect and cookie are mapped into the mount', async () => {
    const go = await get(`${MOUNT}/go`);
    expect({ status: go.status, location: header(go, 'location') }).toEqual({ status: 302, location: `${MOUNT}/hello` });
    expect(headerValues(await get(`${MOUNT}/login`), 'set-cookie')).toEqual([`session=hono-1; Path=${MOUNT}; HttpOnly`]);
  });

  test('the image health check passes', async () => {
    let status = await healthStatus(started.get(mode)!.id);
    for (let waited = 0; status === 'starting' && waited < 60_000; waited += 1_000) {
      await sleep(1_000);
      status = await healthStatus(started.get(mode)!.id);
    }
    expect(status).toBe('healthy');
  });

  if (mode === 'apache-fcgid') {
    test('the pool warm-up starts both app processes without the built-in app\'s routes', async () => {
      const id = started.get(mode)!.id;
      const isFcgiApp = (cmdline: string) => /^node .*\/srv\/yourapplication\/app\/yourapplication\.fcgi$/.test(cmdline);
      const held = /"GET \/team-1\/app\.v2\/ HTTP\/1\.1" 204 .*"yourapplication-prespawn"/g;
      let count = 0;
      for (let waited = 0; waited < 30_000; waited += 500) {
        count = (await containerProcesses(id)).filter((p) => isFcgiApp(p.cmdline)).length;
        if (count >= 2 && (await containerLogs(id)).match(held)?.length === 2) break;
        await sleep(500);
      }
      expect(count).toBe(2);
      const logs = await containerLogs(id);
      expect(logs.match(held), 'the warm-up\'s two requests are held by the gateway (204), not routed to the app').toHaveLength(2);
      expect(logs).not.toContain('app process(es) after the warm-up');
    });
  }
});
