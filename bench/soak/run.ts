/**
 * make soak: each deployment under load and faults, one fresh container per
 * mode, one mode at a time (issue 7): 64 connections for 60 s, a kill -9 of
 * one app process under load, the pre-fork master killed under load
 * (nginx-prefork), the documented reload under load, slowloris (the hook
 * bench/soak/slowloris.sh), and SIGTERM with a request in flight. Prints a
 * table (rows: what was done, columns: modes) and writes it to
 * bench/results/soak.md. Not part of `make test`; a few minutes per mode.
 *
 * Usage: node bench/soak/run.ts [--modes a,b] [--seconds 60] [--tag TAG]
 * Images: yourapplication/<mode>:<tag>, built from this checkout (the layer
 * cache makes that quick); tag: --tag, else $TEST_IMAGE_TAG, else "soak".
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEPLOYMENTS } from '../lib/deployments.ts';
import { baseImage, docker, ensureImage, removeContainer, startContainer, waitHealthy } from '../lib/docker.ts';
import { masterKill, reload, sigtermInFlight, slowloris, steadyLoad, workerKill, type Profile } from './checks.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const ours = DEPLOYMENTS.filter((d) => d.kind === 'ours');
const { values: args } = parseArgs({
  options: {
    modes: { type: 'string', default: ours.map((d) => d.name).join(',') },
    seconds: { type: 'string', default: '60' },
    tag: { type: 'string', default: process.env.TEST_IMAGE_TAG?.trim() || 'soak' },
    out: { type: 'string', default: join(root, 'bench/results/soak.md') },
  },
});
const log = (line: string) => process.stderr.write(`soak: ${line}\n`);
// Ctrl-C or a kill still runs the 'exit' handler that removes the containers (bench/lib/docker.ts).
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));

/** compose.yaml's stop_grace_period for every mode. */
const GRACE_SECONDS = 15;
const seconds = Number(args.seconds);
const modes = args.modes.split(',').map((m) => m.trim()).filter(Boolean);
for (const mode of modes) if (!ours.some((d) => d.name === mode)) throw new Error(`--modes: unknown mode "${mode}"`);

const ROWS = [
  `${seconds} s of load (wrk; CGI: 4 connections)`,
  'kill -9 of one app process under load (wrk -c16, CGI -c4)',
  'pre-fork master killed (kill -9) under load',
  'reload under load: `yourapplication-reload` (`make reload-<mode>`)',
  'slowloris (bench/soak/slowloris.sh)',
  '`docker kill -s TERM` with a 3 s request in flight',
] as const;

const base = baseImage(root);
const table = new Map<string, string[]>();
for (const mode of modes) {
  const tag = `yourapplication/${mode}:${args.tag}`;
  log(`${mode}: building ${tag}`);
  ensureImage(tag, join(root, 'images/Dockerfile'), root, base, { target: mode, rebuild: true });
  const profile: Profile = { mode, perRequest: ours.find((d) => d.name === mode)!.perRequestProcess === true };
  const cells: string[] = [];
  const step = async (row: number, work: () => Promise<string>) => {
    log(`${mode}: ${ROWS[row]}`);
    cells[row] = await work().catch((error: unknown) => `error: ${(error as Error).message.split('\n')[0]}`);
    log(`${mode}:   ${cells[row]}`);
  };
  const id = startContainer(tag, {}, ours.find((d) => d.name === mode)!.runArgs);
  try {
    await waitHealthy(id);
    await step(0, () => steadyLoad(id, profile, seconds));
    await step(1, () => workerKill(id, profile));
    if (mode === 'nginx-prefork') await step(2, () => masterKill(id, profile));
    else cells[2] = '';
    await waitHealthy(id);
    await step(3, () => reload(id, profile));
    await waitHealthy(id);
    await step(4, () => slowloris(id, profile, join(root, 'bench/soak/slowloris.sh')));
    await step(5, () => sigtermInFlight(id, GRACE_SECONDS));
  } catch (error) {
    log(`${mode}: ${(error as Error).message}`);
    cells.push(`error: ${(error as Error).message.split('\n')[0]}`);
  } finally {
    removeContainer(id);
  }
  table.set(mode, cells);
}

const escape = (cell: string | undefined) => (cell ?? '').replaceAll('|', '\\|');
const markdown = [
  `# make soak, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
  '',
  `${cpus().length} cores, Node ${process.versions.node}, ${docker('version', '--format', 'Docker {{.Server.Version}}')}; images ` +
    `yourapplication/<mode>:${args.tag}, one mode at a time, root mount; load from wrk inside the container's network namespace. ` +
    '"failed" counts what wrk counts: socket errors, timeouts (5 s in the fault rows, 2 s otherwise) and answers other than 2xx/3xx.',
  '',
  `| what we did | ${modes.join(' | ')} |`,
  `|---|${modes.map(() => '---').join('|')}|`,
  ...ROWS.map((row, i) => `| ${row} | ${modes.map((m) => escape(table.get(m)?.[i])).join(' | ')} |`),
  '',
].join('\n');
mkdirSync(join(args.out, '..'), { recursive: true });
writeFileSync(args.out, markdown);
process.stdout.write(markdown);
log(`written to ${args.out}`);
