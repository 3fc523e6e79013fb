/**
 * The harness's own Docker helpers against the real engine: published ports
 * come from below the kernel's ephemeral range (Docker's own choice clashed
 * with the tests' client sockets once in CI), and a host port someone already
 * holds is passed over for the next one.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { afterAll, expect, test } from 'vitest';
import { docker, runPublished } from './docker.ts';
import { baseImage } from './global-setup.ts';
import { CONTAINER_LABEL, OWNER_LABEL } from './matrix.ts';

const held: Server[] = [];
const ids: string[] = [];
afterAll(async () => {
  await Promise.all(held.map((server) => new Promise((done) => server.close(done))));
  if (ids.length > 0) await docker(['rm', '-f', ...ids]);
});

const args = (image: string) => ['--label', `${CONTAINER_LABEL}=port-choice`, '--label', `${OWNER_LABEL}=${process.pid}`, image, 'sleep', '60'];
const publishedPort = async (id: string) => Number(/:(\d+)\s*$/m.exec((await docker(['port', id, '8080/tcp'])).stdout)?.[1]);

test('a published port lies below the ephemeral range that client sockets take their ports from', async () => {
  const [ephemeralLow] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
  const { id, port } = await runPublished(args(await baseImage()));
  ids.push(id);
  expect(await publishedPort(id)).toBe(port);
  // (On a machine whose ephemeral range starts below 13025 there is no such room; the retries cover it there.)
  if (ephemeralLow! > 13_024) expect(port).toBeLessThan(ephemeralLow!);
}, 60_000);

test('a host port that is already taken is passed over for the next candidate', async () => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  held.push(taken);
  const takenPort = (taken.address() as { port: number }).port;
  const spare = createServer();
  await new Promise<void>((resolve) => spare.listen(0, '127.0.0.1', resolve));
  const sparePort = (spare.address() as { port: number }).port;
  await new Promise((done) => spare.close(done));
  const { id, port } = await runPublished(args(await baseImage()), 8080, [takenPort, sparePort]);
  ids.push(id);
  expect(port).toBe(sparePort);
  expect(await publishedPort(id)).toBe(sparePort);
  expect((await docker(['inspect', '--format', '{{.State.Running}}', id])).stdout.trim()).toBe('true');
}, 60_000);
