/**
 * The Apache images' mod_lua leaves a kept Lua state's stack as it found it
 * (images/apache/mod_lua-hook-stack.patch). Debian's build left each hook's
 * return value on the stack: with `LuaScope thread`, which the request policy
 * runs under (configs/apache/yourapplication.conf), a worker thread's stack
 * grew with every request until Lua's limit, and then every request failed.
 * So the Apache modes retired their children; now they need not.
 *
 * The probe (tests/integration/lua-stack-probe/) is a second hook under the
 * same scope that measures how deep a Lua call chain can still go in its own
 * kept state. Unpatched, that room shrinks with every request the state has
 * served, so several hundred requests give many different figures; patched,
 * every answer gives the same one.
 */
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { HOST } from './corpus.ts';
import { docker, startWithHostPort } from './docker.ts';
import { hardenedContainer } from './hardening.ts';
import { CONTAINER_LABEL, imageTag, OWNER_LABEL, selectedModes, type Mode } from './matrix.ts';
import { header, send } from './raw-http.ts';

const PROBE = resolve(import.meta.dirname, 'lua-stack-probe');
const modes = selectedModes().filter((mode) => mode.startsWith('apache-'));
const started = new Map<Mode, { id: string; port: number }>();

beforeAll(async () => {
  const { Wait } = await import('testcontainers');
  for (const mode of modes) {
    const container = await startWithHostPort(`${CONTAINER_LABEL}=${mode}-lua-probe`, async (hostPort) => (await hardenedContainer(imageTag(mode), mode))
      .withBindMounts([
        { source: PROBE, target: '/etc/apache2/lua-stack-probe', mode: 'ro' },
        { source: resolve(PROBE, 'probe.conf'), target: '/etc/apache2/conf-enabled/zz-lua-stack-probe.conf', mode: 'ro' },
      ])
      .withExposedPorts({ container: 8080, host: hostPort })
      .withLabels({ [CONTAINER_LABEL]: `${mode}-lua-probe`, [OWNER_LABEL]: String(process.pid) })
      .withWaitStrategy(Wait.forHttp('/hello', 8080).forStatusCode(200))
      .withStartupTimeout(60_000)
      .start());
    started.set(mode, { id: container.getId(), port: container.getMappedPort(8080) });
  }
}, 180_000);

afterAll(async () => {
  if (started.size > 0) await docker(['rm', '-f', ...[...started.values()].map((c) => c.id)]);
});

describe.each(modes)('%s', (mode) => {
  test('600 requests leave a kept Lua state\'s stack with the same room as the first', { timeout: 120_000 }, async () => {
    const { port } = started.get(mode)!;
    const rooms: string[] = [];
    const statuses = new Set<number>();
    for (let i = 0; i < 600; i += 4) {
      await Promise.all([0, 1, 2, 3].map(async () => {
        const res = await send({ method: 'GET', target: '/lua-stack-probe', headers: [['Host', HOST]] }, { port });
        statuses.add(res.status);
        rooms.push(header(res, 'x-lua-stack-room') ?? 'none');
      }));
    }
    expect([...statuses], 'the app\'s 404: the probe declines, as the request policy does').toEqual([404]);
    const distinct = [...new Set(rooms)];
    expect(Number(distinct[0]), 'a depth of tens of thousands of calls').toBeGreaterThan(10_000);
    expect(distinct, 'the room the probe measured (X-Lua-Stack-Room), over 600 requests').toHaveLength(1);
  });
});
