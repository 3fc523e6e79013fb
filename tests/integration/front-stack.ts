/**
 * The comparison page's stack for the tests: modes and the front on a Docker
 * network of their own, as compose runs them (the front reaches each mode by
 * its service name; read-only root fs, /tmp on tmpfs, no capabilities), with
 * a random host port for the front. The mode images are the ones the global
 * setup built; the front image is built here (a second or two once cached).
 */
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { baseImage } from './global-setup.ts';
import { buildImage, containerLogs, docker, runPublished } from './docker.ts';
import { dockerRunFlags } from './hardening.ts';
import { CONTAINER_LABEL, imageTag, type Mode } from './matrix.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const HARDENED = ['--read-only', '--tmpfs', '/tmp:size=16m,mode=1777', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges:true'];
const READY_LIMIT_MS = 90_000;

export function frontImage(): string {
  return imageTag('nginx-fcgi').replace('/nginx-fcgi:', '/front:');
}

export async function buildFront(): Promise<void> {
  await buildImage({
    context: ROOT,
    dockerfile: join(ROOT, 'images', 'Dockerfile'),
    target: 'front',
    tag: frontImage(),
    buildArgs: { BASE_IMAGE: await baseImage() },
    logFile: join(tmpdir(), `build-front-${process.pid}.log`),
    timeoutMs: 600_000,
  });
}

export interface FrontStack {
  /** http://127.0.0.1:<port> of the front. */
  url: string;
  frontId: string;
  mount: string;
  /** Everything the containers logged, for a failure message. */
  logs(): Promise<string>;
  stop(): Promise<void>;
}

async function run(args: string[]): Promise<string> {
  const result = await docker(args, 120_000);
  if (result.code !== 0) throw new Error(`docker ${args.join(' ')}: ${result.stderr.trim()}`);
  return result.stdout.trim();
}

/** Starts the front, then `modes` (which link back to it with COMPARE_PAGE_URL), all serving at `mount`. */
export async function startFrontStack(modes: readonly Mode[], mount: string): Promise<FrontStack> {
  const network = `yourapplication-front-${randomUUID().slice(0, 8)}`;
  const label = ['--label', `${CONTAINER_LABEL}=front-stack`, '--label', `${CONTAINER_LABEL}.owner-pid=${process.pid}`];
  const ids: string[] = [];
  await run(['network', 'create', network]);
  const stop = async () => {
    if (ids.length > 0) await docker(['rm', '-f', ...ids]);
    await docker(['network', 'rm', network]);
  };
  try {
    const { id: frontId, port } = await runPublished([...label, ...HARDENED, '--network', network, '-e', `MOUNT=${mount}`,
      frontImage()]);
    ids.push(frontId);
    const url = `http://127.0.0.1:${port}`;
    for (const mode of modes) {
      ids.push(await run(['run', '-d', ...label, ...dockerRunFlags(mode), '--network', network, '--network-alias', mode,
        '-e', `APP_MOUNT=${mount}`, '-e', `COMPARE_PAGE_URL=${url}/`, imageTag(mode)]));
    }
    const logs = async () => (await Promise.all(ids.map(async (id) => `--- ${id.slice(0, 12)}\n${await containerLogs(id).catch(String)}`))).join('\n');
    // Ready when every mode answers through the front (which also proves the front is up).
    const deadline = Date.now() + READY_LIMIT_MS;
    for (const mode of modes) {
      let status = 0;
      while (Date.now() < deadline) {
        status = await fetch(`${url}/${mode}/hello`, { signal: AbortSignal.timeout(5_000) }).then((r) => r.status, () => 0);
        if (status === 200) break;
        await new Promise((done) => setTimeout(done, 500));
      }
      if (status !== 200) throw new Error(`${mode} did not answer through the front (last status ${status}):\n${(await logs()).slice(-6000)}`);
    }
    return { url, frontId, mount, logs, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
