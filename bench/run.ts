/**
 * make bench: the comparison people come for, in ONE run on one machine.
 *   1. the gateway in one process on the host against bare node:http,
 *      @hono/node-server and node-fastcgi (bench/lib/host-servers.ts);
 *   2. where a CGI request's time goes (bench/lib/cgi-startup.ts);
 *   3. the five deployments and the classic stacks they mirror, wrk inside
 *      each container's network namespace (bench/lib/deployments.ts);
 *   4. memory under sustained load (bench/lib/soak.ts).
 * Rounds are interleaved (every target once per round, each next to the one
 * it is compared with, the order reversed every other round: ./lib/order.ts)
 * and medians reported, because this machine is shared: ratios within one
 * run are the figures.
 * Writes bench/results/latest.{md,svg,json}. Every load run is bounded in
 * time; every container and process it starts is removed on exit.
 *
 * Usage: node bench/run.ts [--quick] [--rounds N] [--seconds S] [--only host,cgi,deployments,soak]
 *                          [--modes a,b] [--soak-requests N]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cgiStartup } from './lib/cgi-startup.ts';
import { DEPLOYMENTS, type Deployment } from './lib/deployments.ts';
import { baseImage, ensureImage, processMemory, removeContainer, startContainer, waitHealthy } from './lib/docker.ts';
import { fullGcsPer10k, startHostServers } from './lib/host-servers.ts';
import { comparisonOrder, serpentine } from './lib/order.ts';
import { markdown, README_END, README_START, readmeSection, svg, type BenchResults, type DeploymentRow, type HostRow } from './lib/report.ts';
import { soak } from './lib/soak.ts';
import { summarize } from './lib/stats.ts';
import { WRK_IMAGE, wrkInContainer, wrkOnHost, type WrkResult } from './lib/wrk.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: process.env.QUICK === '1' },
    rounds: { type: 'string' },
    seconds: { type: 'string' },
    only: { type: 'string', default: 'host,cgi,deployments,soak' },
    modes: { type: 'string' },
    'soak-requests': { type: 'string' },
    out: { type: 'string', default: join(root, 'bench/results') },
  },
});
const quick = args.quick;
// Five short rounds rather than three long ones, in the same time: the
// medians (and the per-round ratios, ./lib/order.ts) ride out more of the
// machine's bursts.
const rounds = Number(args.rounds ?? (quick ? 1 : 5));
const seconds = Number(args.seconds ?? (quick ? 2 : 3));
const soakTarget = Number(args['soak-requests'] ?? (quick ? 50_000 : 1_000_000));
const only = new Set(args.only.split(','));
const log = (line: string) => process.stderr.write(`bench: ${line}\n`);
// Ctrl-C or a kill still runs the 'exit' handlers that stop the host servers and remove the containers.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));

const results: BenchResults = {
  date: new Date().toISOString().slice(0, 10),
  command: `make bench${quick ? ' QUICK=1' : ''}`,
  machine: `${cpus().length} cores (${cpus()[0]?.model.trim()}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.versions.node}, ${execFileSync('uname', ['-sr'], { encoding: 'utf8' }).trim()}`,
  load: { seconds, rounds },
  host: [],
  deployments: [],
  soak: [],
  soakTarget,
};

async function hostPhase(): Promise<void> {
  log('host: starting the servers');
  const servers = await startHostServers(root);
  try {
    const measured = new Map<string, WrkResult[]>();
    for (const target of servers.targets) await wrkOnHost(target.url, { connections: 16, seconds: 1 }); // warm-up (JIT, keep-alive pools)
    for (let round = 1; round <= rounds; round++) {
      for (const target of serpentine(servers.targets, round)) {
        const result = await wrkOnHost(target.url, { connections: 16, seconds });
        measured.set(target.name, [...(measured.get(target.name) ?? []), result]);
        log(`host round ${round}: ${target.name}: ${result.requestsPerSecond.toFixed(0)} req/s`);
      }
    }
    results.host = servers.targets.map((target): HostRow => ({
      name: target.name, group: target.group, summary: summarize(measured.get(target.name)!), reference: target.reference, note: target.note,
    }));
  } finally {
    servers.stop();
  }
  results.gc = await fullGcsPer10k(root, 18950, (url) => wrkOnHost(url, { connections: 16, seconds: seconds * 2 }));
  log(`host: ${results.gc.fullGcs} full GCs in ${results.gc.requests} requests`);
}

function selectedDeployments(): Deployment[] {
  const modes = args.modes?.split(',');
  return DEPLOYMENTS.filter((d) => !modes || modes.includes(d.name) || d.kind !== 'ours');
}

function buildImages(deployments: Deployment[]): void {
  const base = baseImage(root);
  ensureImage(WRK_IMAGE, 'images/wrk/Dockerfile', 'images/wrk', base);
  for (const d of deployments) {
    ensureImage(d.tag, join(root, d.dockerfile), join(root, d.context), base, { target: d.target, rebuild: true });
  }
}

async function appMemory(id: string, deployment: Deployment): Promise<number[]> {
  return (await processMemory(id, deployment.appProcess)).map((p) => p.rssMb);
}

async function deploymentPhase(deployments: Deployment[]): Promise<void> {
  const running = new Map<string, string>();
  try {
    for (const d of deployments) running.set(d.name, startContainer(d.tag, {}, d.runArgs));
    await Promise.all([...running.values()].map((id) => waitHealthy(id)));
    const idle = new Map<string, number[]>();
    for (const d of deployments) {
      const id = running.get(d.name)!;
      // Warm-up: spawns every pool process and fills keep-alive pools before anything is measured.
      await wrkInContainer(id, '/hello', { connections: d.perRequestProcess ? 2 : 16, seconds: 1 });
      idle.set(d.name, await appMemory(id, d));
    }
    // The report lists the rows as given; the rounds measure them grouped by comparison.
    const rows = deployments.flatMap((d) => (d.perRequestProcess ? [4] : [16, 64]).map((connections) => ({ d, connections })));
    const plans = comparisonOrder(rows, ({ d, connections }) => ({ name: d.name, comparedWith: d.comparedWith, connections }));
    const measured = new Map<string, WrkResult[]>();
    for (let round = 1; round <= rounds; round++) {
      for (const { d, connections } of serpentine(plans, round)) {
        const result = await wrkInContainer(running.get(d.name)!, '/hello', { connections, seconds });
        const key = `${d.name} c${connections}`;
        measured.set(key, [...(measured.get(key) ?? []), result]);
        log(`deployments round ${round}: ${key}: ${result.requestsPerSecond.toFixed(0)} req/s, p99 ${result.p99Ms} ms, ${result.errors} errors`);
      }
    }
    for (const { d, connections } of rows) {
      const row: DeploymentRow = {
        name: d.name, kind: d.kind, connections, summary: summarize(measured.get(`${d.name} c${connections}`)!),
        memoryIdleMb: idle.get(d.name)!, memoryAfterMb: await appMemory(running.get(d.name)!, d), comparedWith: d.comparedWith, goal: d.goal,
      };
      results.deployments.push(row);
    }
  } finally {
    for (const id of running.values()) removeContainer(id);
  }
}

function write(): void {
  mkdirSync(args.out, { recursive: true });
  writeFileSync(join(args.out, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(args.out, 'latest.md'), markdown(results));
  writeFileSync(join(args.out, 'latest.svg'), svg(results));
  log(`wrote ${join(args.out, 'latest.md')}, latest.svg, latest.json`);
  // Only a full run speaks for the README.
  if (!quick && ['host', 'cgi', 'deployments', 'soak'].every((phase) => only.has(phase)) && !args.modes) {
    const readme = join(root, 'README.md');
    const text = readFileSync(readme, 'utf8');
    const start = text.indexOf(README_START);
    const end = text.indexOf(README_END);
    if (start === -1 || end === -1) throw new Error('bench: README.md has no bench:start/bench:end markers');
    writeFileSync(readme, text.slice(0, start) + readmeSection(results) + text.slice(end + README_END.length));
    log('updated the benchmark section of README.md');
  }
}

/** The host half needs Debian's wrk and nginx; say so plainly instead of failing half way. */
function requireTools(tools: Record<string, string>): void {
  const missing = Object.entries(tools).filter(([tool]) => spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status !== 0);
  if (missing.length) {
    throw new Error(`bench: ${missing.map(([t]) => t).join(', ')} not found; install with: apt-get install ${missing.map(([, p]) => p).join(' ')}`);
  }
}

if (only.has('host')) {
  requireTools({ wrk: 'wrk', nginx: 'nginx-light' });
  await hostPhase();
}
if (only.has('cgi')) results.cgi = cgiStartup(root, quick ? 5 : 20);
if (only.has('deployments') || only.has('soak')) {
  const deployments = selectedDeployments();
  buildImages(deployments);
  if (only.has('deployments')) await deploymentPhase(deployments);
  if (only.has('soak')) {
    const persistent = deployments.filter((d) => d.kind === 'ours' && !d.perRequestProcess);
    // Bounded: apache-fcgid (about 3,000 req/s) needs about 6 minutes for a million.
    results.soak = await soak(persistent, soakTarget, quick ? 30 : 480, log);
  }
}
write();
process.stdout.write(markdown(results));
