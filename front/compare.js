// The comparison page: one panel per mode, each talking to its mode through
// the front's proxy (/<mode>/... -> the mode's container, under its mount).
// Plain browser JavaScript, no framework and no build step: the front image
// serves this file as it is.

/** What each mode is, for its panel: the request's way from the browser to the app. */
const MODES = [
  {
    mode: 'apache-cgi',
    tagline: 'Apache runs the app as a CGI script: one new process per request.',
    flow: [['Apache httpd', 'event MPM, mod_cgid'], ['CGI', 'environment + stdin in, stdout out'], ['node yourapplication.cgi', 'one process per request, exits after it']],
  },
  {
    mode: 'apache-fcgid',
    tagline: 'Apache + mod_fcgid: FastCGI processes it starts and keeps.',
    flow: [['Apache httpd', 'prefork MPM, mod_fcgid'], ['FastCGI', 'unix socket, listening socket on fd 0'], ['node yourapplication.fcgi', 'up to 2, kept warm by mod_fcgid']],
  },
  {
    mode: 'nginx-fcgi',
    tagline: 'nginx fastcgi_pass to processes supervisord starts on one socket.',
    flow: [['nginx', 'fastcgi_pass, keep-conn'], ['FastCGI', 'unix socket bound by supervisord'], ['node yourapplication.fcgi', '2, started by supervisord (fcgi-program)']],
  },
  {
    mode: 'lighttpd-fcgi',
    tagline: 'lighttpd mod_fastcgi starts the app itself (bin-path).',
    flow: [['lighttpd', 'mod_fastcgi, bin-path'], ['FastCGI', 'unix socket, listening socket on fd 0'], ['node yourapplication.fcgi', '2 (max-procs), started by lighttpd']],
  },
  {
    mode: 'nginx-prefork',
    tagline: 'nginx proxy_pass to a pre-fork HTTP server, gunicorn-style.',
    flow: [['nginx', 'reverse proxy, upstream keepalive'], ['HTTP/1.1', 'unix socket, X-Forwarded-* from nginx'], ['tsgi http', 'a master and 2 workers (node:cluster)']],
  },
];

const BATCH = 50;
/** Requests in flight per batch: enough to keep a pool of 2 busy, under the browser's 6 connections per host. */
const IN_FLIGHT = 4;

const panels = new Map();

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

function renderFlow(flow) {
  const [server, transport, app] = flow;
  return [
    el('div', { class: 'box' }, el('b', {}, 'browser'), 'this page'),
    el('div', { class: 'hop' }, 'HTTP, through the front'),
    el('div', { class: 'box' }, el('b', {}, server[0]), server[1]),
    el('div', { class: 'hop' }, `${transport[0]}: ${transport[1]}`),
    el('div', { class: 'box app' }, el('b', {}, app[0]), app[1]),
  ];
}

function createPanel({ mode, tagline, flow }) {
  const template = document.getElementById('mode-panel');
  const section = template.content.firstElementChild.cloneNode(true);
  section.dataset.mode = mode;
  section.querySelector('h2').textContent = mode;
  section.querySelector('.tagline').textContent = tagline;
  section.querySelector('.flow').append(...renderFlow(flow));
  section.querySelector('.links').append(
    el('a', { href: `/${mode}/` }, 'landing page'),
    el('a', { href: `/${mode}/whoami` }, '/whoami'),
    el('a', { href: `/docs/modes/${mode}.md` }, 'walkthrough'),
  );
  section.querySelector('.send').addEventListener('click', () => runExclusive(() => sendBatch(mode)));
  document.getElementById('modes').append(section);
  panels.set(mode, section);
}

/** One GET /whoami through the front, timed here: { facts, ms }. */
async function whoami(mode) {
  const started = performance.now();
  const response = await fetch(`/${mode}/whoami`, { cache: 'no-store' });
  if (!response.ok) throw new Error(`GET /${mode}/whoami: ${response.status} ${response.statusText}`);
  const facts = await response.json();
  return { facts, ms: performance.now() - started };
}

function showFacts(mode, facts) {
  const panel = panels.get(mode);
  for (const dd of panel.querySelectorAll('[data-fact]')) {
    const value = facts[dd.dataset.fact];
    dd.textContent = value === '' ? '""' : String(value);
    dd.classList.remove('error');
  }
}

function showError(mode, error) {
  const panel = panels.get(mode);
  const dd = panel.querySelector('[data-fact="pid"]');
  dd.textContent = error.message;
  dd.classList.add('error');
}

async function refreshFacts(mode) {
  try {
    showFacts(mode, (await whoami(mode)).facts);
  } catch (error) {
    showError(mode, error);
  }
}

/** The nearest-rank percentile of sorted values. */
function percentile(sorted, p) {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  return node;
}

/** One bar per request, in the order they were sent, and the p50 and p95 lines. */
function drawChart(mode, latencies) {
  const chart = panels.get(mode).querySelector('.chart');
  const width = 250;
  const height = 90;
  const sorted = [...latencies].sort((a, b) => a - b);
  const top = Math.max(sorted.at(-1), 1) * 1.1;
  const y = (ms) => height - (ms / top) * height;
  const step = width / latencies.length;
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: 'none', role: 'img' });
  root.append(svg('title', {}));
  root.firstChild.textContent = `${mode}: ${latencies.length} requests, latency in ms`;
  latencies.forEach((ms, i) => {
    root.append(svg('rect', { class: 'bar', x: i * step + 0.5, y: y(ms), width: Math.max(step - 1, 0.5), height: height - y(ms) }));
  });
  for (const p of [50, 95]) {
    const at = y(percentile(sorted, p));
    root.append(svg('line', { class: `p${p}`, x1: 0, x2: width, y1: at, y2: at }));
  }
  chart.replaceChildren(root);
  chart.dataset.count = String(latencies.length);
}

function showPids(mode, pids) {
  const box = panels.get(mode).querySelector('.pids');
  const counts = new Map();
  for (const pid of pids) counts.set(pid, (counts.get(pid) ?? 0) + 1);
  box.dataset.distinct = String(counts.size);
  const label = counts.size === 1 ? '1 process answered: ' : `${counts.size} processes answered: `;
  const chips = [...counts].slice(0, 24).map(([pid, n]) => el('span', { class: 'pid', title: `${n} requests` }, n > 1 ? `${pid}\u00d7${n}` : String(pid)));
  box.replaceChildren(label, ...chips, counts.size > 24 ? ` and ${counts.size - 24} more` : '');
}

/** BATCH requests, IN_FLIGHT at a time; then the chart, p50/p95 and the pids that answered. */
async function sendBatch(mode) {
  const panel = panels.get(mode);
  const summary = panel.querySelector('.summary');
  const latencies = [];
  const pids = [];
  let next = 0;
  let failed = null;
  const lane = async () => {
    while (next < BATCH && !failed) {
      const index = next++;
      try {
        const { facts, ms } = await whoami(mode);
        latencies[index] = ms;
        pids[index] = facts.pid;
        summary.textContent = `${latencies.filter((v) => v !== undefined).length} of ${BATCH}…`;
      } catch (error) {
        failed = error;
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  if (failed) {
    summary.replaceChildren(el('span', { class: 'error' }, failed.message));
    return;
  }
  drawChart(mode, latencies);
  const sorted = [...latencies].sort((a, b) => a - b);
  summary.replaceChildren(
    `${BATCH} requests: p50 `, el('b', { class: 'p50' }, `${percentile(sorted, 50).toFixed(1)} ms`),
    ', p95 ', el('b', { class: 'p95' }, `${percentile(sorted, 95).toFixed(1)} ms`),
  );
  showPids(mode, pids);
  await refreshFacts(mode);
}

/** One batch at a time, so modes don't compete for the same CPUs while they are timed. */
let busy = false;
async function runExclusive(work) {
  if (busy) return;
  busy = true;
  const buttons = document.querySelectorAll('button');
  for (const b of buttons) b.disabled = true;
  try {
    await work();
  } finally {
    for (const b of buttons) b.disabled = false;
    busy = false;
  }
}

for (const mode of MODES) createPanel(mode);
document.getElementById('send-all').addEventListener('click', () => runExclusive(async () => {
  for (const { mode } of MODES) await sendBatch(mode);
}));
await Promise.all(MODES.map(({ mode }) => refreshFacts(mode)));
document.body.dataset.ready = 'true';
