/**
 * bench/results/latest.md (tables) and latest.svg (the chart the README
 * shows) from one run's results; latest.json keeps the raw figures.
 */
import { TSGI_OWN_RESPONSE_ROW } from './host-servers.ts';
import { pairedRatio, type Summary } from './stats.ts';

export interface HostRow {
  name: string;
  group: 'http' | 'fastcgi';
  summary: Summary;
  reference?: string;
  note?: string;
}

export interface DeploymentRow {
  name: string;
  kind: 'ours' | 'classic' | 'ceiling';
  connections: number;
  summary: Summary;
  memoryIdleMb: number[];
  memoryAfterMb: number[];
  comparedWith?: string;
  goal?: number;
}

export interface SoakRow {
  name: string;
  requests: number;
  seconds: number;
  /** RSS per app process (MB) after the first 10,000 requests, at the end, after 30 s idle. */
  first: number[];
  end: number[];
  idle: number[];
  failed: number;
}

export interface CgiStartup {
  runs: number;
  nodeBare: number;
  nodeWithResponse: number;
  gatewayImport: number;
  cgiNoCache: number;
  cgiWarmCache: number;
}

export interface BenchResults {
  date: string;
  command: string;
  machine: string;
  load: { seconds: number; rounds: number };
  host: HostRow[];
  gc?: { fullGcs: number; requests: number; per10k: number };
  deployments: DeploymentRow[];
  soak: SoakRow[];
  soakTarget: number;
  cgi?: CgiStartup;
}

const n0 = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '-');
const ms = (x: number) => (x < 1 ? `${(x * 1000).toFixed(0)} us` : `${x.toFixed(x < 10 ? 2 : 0)} ms`);
const times = (r: number) => (Number.isFinite(r) && r > 0 ? `${r.toFixed(2)}x` : '');
/** "2.46x": row over reference, the median of the per-round ratios (see pairedRatio). */
const ratio = (row: Summary, reference: Summary | undefined) => times(reference ? pairedRatio(row, reference) : Number.NaN);
const mb = (values: number[]) => (values.length ? values.map((v) => v.toFixed(0)).join(' / ') : '-');

function find(rows: DeploymentRow[], name: string | undefined, connections: number): DeploymentRow | undefined {
  return rows.find((r) => r.name === name && r.connections === connections);
}

export function goals(results: BenchResults): Array<{ goal: string; measured: string; met: boolean }> {
  const out: Array<{ goal: string; measured: string; met: boolean }> = [];
  const host = (name: string) => results.host.find((r) => r.name === name)?.summary;
  // Each tsgi row against bare node:http and against Hono; the like-for-like
  // pairs are the same kind of Response in the app (undici's, or the server's own).
  const hostGoals: Array<[row: string, goal: number, reference: string]> = [
    ['tsgi http --workers 0', 0.75, 'node:http (bare)'],
    ['tsgi http --workers 0', 0.95, "@hono/node-server (Node's Response)"],
    ['tsgi http --workers 0', 0.95, '@hono/node-server (default)'],
    [TSGI_OWN_RESPONSE_ROW, 0.75, 'node:http (bare)'],
    [TSGI_OWN_RESPONSE_ROW, 0.95, '@hono/node-server (default)'],
  ];
  for (const [name, goal, referenceName] of hostGoals) {
    const row = host(name);
    const reference = host(referenceName);
    const r = row && reference ? pairedRatio(row, reference) : Number.NaN;
    out.push({ goal: `${name} >= ${goal}x ${referenceName}`, measured: times(r), met: r >= goal });
  }
  for (const row of results.deployments) {
    if (row.kind !== 'ours' || !row.goal) continue;
    const other = find(results.deployments, row.comparedWith, row.connections);
    if (!other) continue;
    const r = pairedRatio(row.summary, other.summary);
    out.push({ goal: `${row.name} >= ${row.goal}x ${row.comparedWith} (c${row.connections})`, measured: times(r), met: r >= row.goal });
  }
  for (const row of results.deployments.filter((r) => r.name === 'apache-fcgid')) {
    out.push({
      goal: `apache-fcgid: 0 timeouts, p99 < 50 ms (c${row.connections})`,
      measured: `${row.summary.timeouts} timeouts, p99 ${ms(row.summary.p99Ms)}`,
      met: row.summary.timeouts === 0 && row.summary.p99Ms < 50,
    });
  }
  for (const row of results.soak) {
    const first = Math.max(...row.first);
    const worst = Math.max(...row.end, ...row.idle);
    out.push({
      goal: `${row.name}: RSS at end and idle <= 1.5x after 10k, < 150 MB`,
      measured: `${first.toFixed(0)} -> ${Math.max(...row.end).toFixed(0)} -> ${Math.max(...row.idle).toFixed(0)} MB`,
      met: worst <= 1.5 * first && worst < 150,
    });
  }
  return out;
}

export function markdown(results: BenchResults): string {
  const lines: string[] = [];
  lines.push(`# make bench: ${results.date}`, '');
  lines.push(`Machine: ${results.machine}. Command: \`${results.command}\`. Every figure is the median of ${results.load.rounds} interleaved round(s) of ${results.load.seconds} s (wrk -t1, GET /hello, \`--latency\`). A ratio is the median of the per-round ratios of two rows measured back to back in this run, in alternating order.`, '');

  lines.push('## The gateway in one process (host, 127.0.0.1, wrk -c16)', '');
  lines.push('| server | req/s | p50 | p99 | errors | vs reference | note |', '|---|---:|---:|---:|---:|---|---|');
  for (const row of results.host) {
    const ref = results.host.find((r) => r.name === row.reference);
    const vs = ref ? `${ratio(row.summary, ref.summary)} ${ref.name}` : '';
    lines.push(`| ${row.name} | ${n0(row.summary.requestsPerSecond)} | ${ms(row.summary.p50Ms)} | ${ms(row.summary.p99Ms)} | ${row.summary.errors} | ${vs} | ${row.note ?? ''} |`);
  }
  if (results.gc) lines.push('', `Full (mark-compact) GCs of \`tsgi http\`: ${results.gc.fullGcs} in ${n0(results.gc.requests)} requests = **${results.gc.per10k.toFixed(2)} per 10,000 requests**.`);

  lines.push('', '## The deployments and the classic stacks they mirror (wrk inside each container\'s network namespace)', '');
  lines.push('| deployment | kind | conns | req/s | p50 | p99 | errors (timeouts) | app RSS idle, MB | app RSS after load, MB | vs ceiling | vs classic |', '|---|---|---:|---:|---:|---:|---:|---|---|---:|---:|');
  for (const row of results.deployments) {
    const ceiling = results.deployments.find((r) => r.kind === 'ceiling' && r.connections === row.connections)
      ?? results.deployments.find((r) => r.kind === 'ceiling');
    const other = find(results.deployments, row.comparedWith, row.connections);
    const vsClassic = other ? `${ratio(row.summary, other.summary)} ${other.name}` : '';
    lines.push(`| ${row.name} | ${row.kind} | ${row.connections} | ${n0(row.summary.requestsPerSecond)} | ${ms(row.summary.p50Ms)} | ${ms(row.summary.p99Ms)} | ${row.summary.errors} (${row.summary.timeouts}) | ${mb(row.memoryIdleMb)} | ${mb(row.memoryAfterMb)} | ${ratio(row.summary, ceiling?.summary)} | ${vsClassic} |`);
  }

  if (results.soak.length) {
    lines.push('', `## Memory under sustained load (${n0(results.soakTarget)} requests per persistent deployment, wrk -c16)`, '');
    lines.push('| deployment | requests | seconds | failed | app RSS after 10k, MB | at the end | after 30 s idle |', '|---|---:|---:|---:|---|---|---|');
    for (const row of results.soak) lines.push(`| ${row.name} | ${n0(row.requests)} | ${row.seconds.toFixed(0)} | ${row.failed} | ${mb(row.first)} | ${mb(row.end)} | ${mb(row.idle)} |`);
  }

  if (results.cgi) {
    const c = results.cgi;
    lines.push('', `## Where a CGI request's time goes (one GET /hello per process, median of ${c.runs})`, '');
    lines.push('| step | ms |', '|---|---:|');
    lines.push(`| \`node -e 0\`: starting Node | ${c.nodeBare.toFixed(1)} |`);
    lines.push(`| Node + one \`new Response()\`: loading Node's Fetch classes | ${c.nodeWithResponse.toFixed(1)} |`);
    lines.push(`| Node + importing the gateway and the app, warm compile cache | ${c.gatewayImport.toFixed(1)} |`);
    lines.push(`| a whole CGI request, no compile cache | ${c.cgiNoCache.toFixed(1)} |`);
    lines.push(`| a whole CGI request, warm compile cache (as in the image) | ${c.cgiWarmCache.toFixed(1)} |`);
  }

  lines.push('', '## Goals', '', '| goal | measured | met |', '|---|---|---|');
  for (const goal of goals(results)) lines.push(`| ${goal.goal} | ${goal.measured} | ${goal.met ? 'yes' : '**no**'} |`);
  lines.push('', 'Reproduce: `make bench` (about 20 minutes; `make bench QUICK=1` for a one-minute version). The machine is shared and noisy: compare ratios within one run, not absolute figures across runs.', '');
  return lines.join('\n');
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A horizontal bar chart: the deployments at 16 connections, then the host rows. */
export function svg(results: BenchResults): string {
  type Bar = { label: string; value: number; colour: string };
  const colours = { ours: '#2f6fb0', classic: '#b0702f', ceiling: '#888888', host: '#4a9a5a', reference: '#9a9a4a' };
  const sections: Array<{ title: string; bars: Bar[] }> = [];
  const c16 = results.deployments.filter((r) => r.connections === 16 || (r.connections < 16 && !results.deployments.some((o) => o.name === r.name && o.connections === 16)));
  sections.push({
    title: 'Deployments (req/s, GET /hello, in-container wrk)',
    bars: c16.map((r) => ({ label: `${r.name} (c${r.connections})`, value: r.summary.requestsPerSecond, colour: colours[r.kind] })),
  });
  sections.push({
    title: 'One process on the host (req/s, tiny Fetch app)',
    bars: results.host.map((r) => ({ label: r.name, value: r.summary.requestsPerSecond, colour: /tsgi/.test(r.name) ? colours.ours : colours.reference })),
  });
  const width = 900;
  const labelWidth = 300;
  const barHeight = 18;
  const gap = 6;
  let y = 40;
  const parts: string[] = [];
  parts.push(`<text x="10" y="22" font-size="15" font-weight="bold">make bench, ${escapeXml(results.date)}: median req/s of ${results.load.rounds} interleaved round(s)</text>`);
  for (const section of sections) {
    const max = Math.max(...section.bars.map((b) => b.value).filter(Number.isFinite), 1);
    y += 10;
    parts.push(`<text x="10" y="${y}" font-size="13" font-weight="bold">${escapeXml(section.title)}</text>`);
    y += 8;
    for (const bar of section.bars) {
      const length = Number.isFinite(bar.value) ? Math.max(1, ((width - labelWidth - 90) * bar.value) / max) : 0;
      parts.push(`<text x="${labelWidth - 6}" y="${y + 13}" font-size="12" text-anchor="end">${escapeXml(bar.label)}</text>`);
      parts.push(`<rect x="${labelWidth}" y="${y}" width="${length.toFixed(1)}" height="${barHeight}" fill="${bar.colour}"/>`);
      parts.push(`<text x="${labelWidth + length + 5}" y="${y + 13}" font-size="12">${n0(bar.value)}</text>`);
      y += barHeight + gap;
    }
  }
  y += 10;
  const legend = [['ours', colours.ours], ['classic stack', colours.classic], ['ceiling', colours.ceiling], ['reference server', colours.reference]] as const;
  legend.forEach(([label, colour], i) => {
    parts.push(`<rect x="${10 + i * 160}" y="${y}" width="12" height="12" fill="${colour}"/><text x="${28 + i * 160}" y="${y + 11}" font-size="12">${label}</text>`);
  });
  y += 24;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${parts.join('\n')}\n</svg>\n`;
}

export const README_START = '<!-- bench:start (generated by make bench from bench/results/latest.json; do not edit) -->';
export const README_END = '<!-- bench:end -->';

/** The README's benchmark section: the chart, the headline tables, how to reproduce. */
export function readmeSection(results: BenchResults): string {
  const lines: string[] = [README_START, ''];
  lines.push(`Measured by \`${results.command}\` on ${results.date}, ${results.machine}; medians of ${results.load.rounds} interleaved rounds of ${results.load.seconds} s, each ratio the median of per-round ratios of two rows measured back to back. All tables: [bench/results/latest.md](bench/results/latest.md); what shaped the gateway: [docs/performance.md](docs/performance.md).`, '');
  lines.push('![make bench: requests per second](bench/results/latest.svg)', '');
  lines.push('| deployment (ours) | req/s | p99 | vs the classic stack it mirrors | the classic stack | its req/s |', '|---|---:|---:|---:|---|---:|');
  for (const row of results.deployments.filter((r) => r.kind === 'ours')) {
    const other = find(results.deployments, row.comparedWith, row.connections);
    lines.push(`| ${row.name} (c${row.connections}) | ${n0(row.summary.requestsPerSecond)} | ${ms(row.summary.p99Ms)} | ${ratio(row.summary, other?.summary)} | ${row.comparedWith ?? ''} | ${other ? n0(other.summary.requestsPerSecond) : ''} |`);
  }
  const ceiling = results.deployments.find((r) => r.kind === 'ceiling');
  if (ceiling) lines.push('', `The ceiling, nginx answering \`return 200\` itself: ${n0(ceiling.summary.requestsPerSecond)} req/s.`);
  lines.push('', '| one process on the host, tiny Fetch app | req/s | vs bare node:http |', '|---|---:|---:|');
  const bare = results.host.find((r) => r.name === 'node:http (bare)');
  for (const row of results.host.filter((r) => r.group === 'http')) lines.push(`| ${row.name} | ${n0(row.summary.requestsPerSecond)} | ${ratio(row.summary, bare?.summary)} |`);
  for (const row of results.host.filter((r) => r.group === 'fastcgi')) lines.push(`| ${row.name} | ${n0(row.summary.requestsPerSecond)} | |`);
  if (results.soak.length) {
    lines.push('', `Memory, ${n0(results.soakTarget)} requests per persistent deployment (RSS of each app process, MB, after 10k / at the end / after 30 s idle): ${results.soak.map((s) => `${s.name} ${mb(s.first)} → ${mb(s.end)} → ${mb(s.idle)}`).join('; ')}.`);
  }
  if (results.cgi) lines.push('', `A CGI request is a Node start: ${results.cgi.nodeBare.toFixed(0)} ms for \`node -e 0\`, ${results.cgi.nodeWithResponse.toFixed(0)} ms once Node's Fetch classes load, ${results.cgi.cgiWarmCache.toFixed(0)} ms for the whole request with the compile cache the images warm (${results.cgi.cgiNoCache.toFixed(0)} ms without).`);
  lines.push('', 'Reproduce: `make bench` (about 20 minutes; needs Docker, and `wrk` and `nginx-light` on the host) or `make bench QUICK=1` (a minute or two, not for the README). The machine is shared and noisy: read ratios within one run.', '', README_END);
  return lines.join('\n');
}
