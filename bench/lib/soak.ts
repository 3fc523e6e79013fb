/**
 * Memory under sustained load: each persistent deployment serves `target`
 * requests in a fresh container; each app process's RSS is read after the
 * first 10,000, at the end, and after at least 30 s idle. Bounded in time:
 * a deployment that is too slow stops at `maxSeconds` and says how far it got.
 */
import type { Deployment } from './deployments.ts';
import { processMemory, removeContainer, startContainer, waitHealthy } from './docker.ts';
import type { SoakRow } from './report.ts';
import { wrkInContainer } from './wrk.ts';

const FIRST = 10_000;
const IDLE_SECONDS = 30;
const CONNECTIONS = 16;

async function rss(id: string, deployment: Deployment): Promise<number[]> {
  return (await processMemory(id, deployment.appProcess)).map((p) => p.rssMb);
}

export async function soak(deployments: Deployment[], target: number, maxSeconds: number, log: (line: string) => void): Promise<SoakRow[]> {
  const pending: Array<{ row: SoakRow; id: string; deployment: Deployment; endedAt: number }> = [];
  try {
    for (const deployment of deployments) {
      const id = startContainer(deployment.tag, {}, deployment.runArgs);
      await waitHealthy(id);
      const started = Date.now();
      let requests = 0;
      let failed = 0;
      let rate = 5_000;
      while (requests < FIRST) {
        const r = await wrkInContainer(id, '/hello', { connections: CONNECTIONS, seconds: 1 });
        requests += r.requests;
        failed += r.errors;
        rate = r.requestsPerSecond || rate;
      }
      const first = await rss(id, deployment);
      while (requests < target && (Date.now() - started) / 1000 < maxSeconds) {
        const left = Math.max(0, maxSeconds - (Date.now() - started) / 1000);
        const seconds = Math.max(1, Math.min(60, Math.ceil((target - requests) / rate), Math.floor(left)));
        const r = await wrkInContainer(id, '/hello', { connections: CONNECTIONS, seconds });
        requests += r.requests;
        failed += r.errors;
        rate = r.requestsPerSecond || rate;
      }
      const end = await rss(id, deployment);
      const seconds = (Date.now() - started) / 1000;
      log(`soak ${deployment.name}: ${requests} requests in ${seconds.toFixed(0)} s, RSS ${first.map((v) => v.toFixed(0)).join('/')} -> ${end.map((v) => v.toFixed(0)).join('/')} MB`);
      pending.push({ row: { name: deployment.name, requests, seconds, first, end, idle: [], failed }, id, deployment, endedAt: Date.now() });
    }
    for (const entry of pending) {
      const wait = entry.endedAt + IDLE_SECONDS * 1000 - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      entry.row.idle = await rss(entry.id, entry.deployment);
    }
    return pending.map((entry) => entry.row);
  } finally {
    for (const entry of pending) removeContainer(entry.id);
  }
}
