/**
 * Builds the five images once and starts the fifteen containers (five modes x
 * three mounts) that every integration test file talks to; the teardown stops them
 * all, whatever happened. Container logs are kept under the run directory
 * for post-mortems.
 *
 * Environment:
 *   BASE_IMAGE              the images' base (default: tsgi-base:24-bookworm if it exists,
 *                           else node:24-bookworm-slim)
 *   INTEGRATION_MODES       comma-separated subset of the modes (default: all five)
 *   INTEGRATION_SKIP_BUILD  "1": use the images already tagged, don't build
 *   TEST_IMAGE_TAG          the images' tag (default: test), for parallel runs on one engine
 */
process.env.TESTCONTAINERS_RYUK_DISABLED = 'true'; // the reaper image can't be pulled offline

import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { buildImage, containerLogs, docker, imageExists, startWithHostPort } from './docker.ts';
import { hardenedContainer } from './hardening.ts';
import { CONTAINER_LABEL, imageTag, MOUNTS, OWNER_LABEL, selectedModes, type Missing, type Mode, type Mount, type Target } from './matrix.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const RUN_DIR = join(tmpdir(), `yourapplication-integration${process.env.TEST_IMAGE_TAG ? `-${process.env.TEST_IMAGE_TAG}` : ''}`);
const BUILD_CONCURRENCY = 2;
const START_CONCURRENCY = 3;

export async function baseImage(): Promise<string> {
  if (process.env.BASE_IMAGE) return process.env.BASE_IMAGE;
  return (await imageExists('tsgi-base:24-bookworm')) ? 'tsgi-base:24-bookworm' : 'node:24-bookworm-slim';
}

/** Runs `work` over `items` with at most `limit` in flight; rejects with the first failure after all settle. */
async function bounded<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!).then(
        (value) => ({ status: 'fulfilled', value }) as const,
        (reason: unknown) => ({ status: 'rejected', reason }) as const,
      );
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  const failures = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason);
  if (failures.length > 0) throw failures.length === 1 ? failures[0] : new AggregateError(failures, failures.map(String).join('\n\n'));
  return results.map((r) => (r as PromiseFulfilledResult<R>).value);
}

async function buildAll(modes: Mode[]): Promise<void> {
  const base = await baseImage();
  const started = Date.now();
  await bounded(modes, BUILD_CONCURRENCY, async (mode) => {
    const t0 = Date.now();
    await buildImage({
      context: ROOT,
      dockerfile: join(ROOT, 'images', 'Dockerfile'),
      target: mode,
      tag: imageTag(mode),
      buildArgs: { BASE_IMAGE: base },
      logFile: join(RUN_DIR, `build-${mode}.log`),
      timeoutMs: 600_000,
    });
    console.log(`[integration] built ${imageTag(mode)} on ${base} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });
  console.log(`[integration] images ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Containers a killed run left behind (without the reaper nothing else removes
 * them). Only those whose run is gone: another run may be going on right now.
 */
async function removeLeftovers(): Promise<void> {
  const list = await docker(['ps', '-a', '--filter', `label=${CONTAINER_LABEL}`, '--format', `{{.ID}} {{.Label "${OWNER_LABEL}"}}`]);
  const ids = list.stdout.split('\n').map((line) => line.trim().split(/\s+/)).filter(([id, pid]) => id && pid && /^\d+$/.test(pid) && !alive(Number(pid))).map(([id]) => id!);
  if (ids.length > 0) await docker(['rm', '-f', ...ids]);
}

export default async function setup(project: TestProject) {
  mkdirSync(RUN_DIR, { recursive: true });
  const modes = selectedModes();
  if (process.env.INTEGRATION_SKIP_BUILD !== '1') await buildAll(modes);
  await removeLeftovers();

  const { GenericContainer, Wait } = await import('testcontainers');
  type Started = Awaited<ReturnType<InstanceType<typeof GenericContainer>['start']>>;
  const running: Array<{ target: Target; container: Started }> = [];

  const stopAll = async () => {
    await bounded(running, START_CONCURRENCY, async ({ target, container }) => {
      const logs = await containerLogs(target.containerId).catch((error: unknown) => String(error));
      writeFileSync(join(RUN_DIR, `${target.mode}${target.mount.replaceAll('/', '_') || '_root'}.log`), logs);
      await container.stop({ timeout: 5_000 });
    }).catch((error: unknown) => console.error('[integration] stopping containers:', error));
  };

  // A container that doesn't come up fails its own tests (with its log), not the whole run.
  const missing: Missing[] = [];
  const wanted: Array<{ mode: Mode; mount: Mount }> = modes.flatMap((mode) => MOUNTS.map((mount) => ({ mode, mount })));
  const started = Date.now();
  try {
    await bounded(wanted, START_CONCURRENCY, async ({ mode, mount }) => {
      let log = '';
      try {
        // Started the way compose.yaml starts it (hardened), so the matrix proves that configuration.
        const container = await startWithHostPort(`${CONTAINER_LABEL}=${mode}${mount}`, async (hostPort) => (await hardenedContainer(imageTag(mode), mode))
          .withEnvironment({ APP_MOUNT: mount })
          .withExposedPorts({ container: 8080, host: hostPort })
          .withLabels({ [CONTAINER_LABEL]: `${mode}${mount}`, [OWNER_LABEL]: String(process.pid) })
          .withLogConsumer((stream) => stream.on('data', (chunk: Buffer | string) => { log = (log + String(chunk)).slice(-4000); }))
          .withWaitStrategy(Wait.forHttp(`${mount}/hello`, 8080).forStatusCode(200))
          .withStartupTimeout(60_000)
          .start());
        const target: Target = { mode, mount, containerId: container.getId(), port: container.getMappedPort(8080) };
        running.push({ target, container });
      } catch (error) {
        const reason = `${mode} at "${mount || '/'}" did not start: ${(error as Error).message}\n--- container log (tail) ---\n${log}`;
        console.error(`[integration] ${reason}`);
        missing.push({ mode, mount, reason });
      }
    });
  } catch (error) {
    await stopAll();
    throw error;
  }
  console.log(`[integration] ${running.length} containers up in ${((Date.now() - started) / 1000).toFixed(1)} s; logs at teardown go to ${RUN_DIR}`);

  project.provide('integrationTargets', running.map((r) => r.target));
  project.provide('integrationMissing', missing);
  return stopAll;
}
