/**
 * GET /: how this request reached the app, and every route with a one-line
 * explanation (all links under the mount). Styled inline, with no external
 * asset, so the page is one answer in every mode. Only the rows mode, server
 * software, pid and requests differ between modes (the matrix blanks them);
 * keep them in the `<tr><th>name</th><td><code>value</code></td></tr>` form the
 * integration corpus reads.
 */
import { Response } from '../gateway/lazy-response.ts';
import type { TsgiContext } from '../gateway/types.ts';
import { processFacts } from './process-stats.ts';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const ROUTES: Array<[path: string, what: string]> = [
  ['/hello', 'the seeds’ Hello, World! (text/plain, Content-Length 14)'],
  ['/echo/some/path?a=1&a=2&b=%C3%A9', 'the request as the app sees it: method, SCRIPT_NAME, PATH_INFO, headers, body digest (JSON)'],
  ['/whoami', 'mode, pid, requests served by this process, SCRIPT_NAME and PATH_INFO (JSON)'],
  ['/redirect?to=/hello', 'a 302 whose Location keeps the mount'],
  ['/cookies', 'two Set-Cookie headers scoped to the mount'],
  ['/stream?chunks=5', 'a body streamed in 5 pieces, 10 ms apart, without Content-Length'],
  ['/bytes/1024', '1024 deterministic bytes (byte i = (7i + 3) mod 251)'],
  ['/status/418', 'any status code from 200 to 599'],
  ['/slow?ms=500', 'an answer after 500 ms (the app timeout is 30 s)'],
  ['/error', 'a handler that throws: the gateway answers 500, the stack goes to the log'],
];

const STYLE = `
body { font: 15px/1.5 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f4f6fa; }
main { max-width: 52rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.15rem; margin: 2rem 0 .5rem; }
nav { font-size: .9rem; margin-bottom: 1rem; }
a { color: #1f5fbf; }
code { font: 13px/1.4 ui-monospace, monospace; background: #e8ecf3; padding: .05rem .3rem; border-radius: 3px; }
table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid #d5dbe6; }
th, td { text-align: left; padding: .4rem .7rem; border-bottom: 1px solid #e3e7ef; vertical-align: top; }
th { width: 16rem; font-weight: 600; color: #4a5468; }
.lead { color: #4a5468; margin: 0 0 1.25rem; }
`.trim();

/**
 * COMPARE_PAGE_URL (set by compose.yaml for every mode) is where the
 * comparison page lives; only a path or an http(s) URL is linked.
 */
function comparePageLink(): string {
  const url = process.env.COMPARE_PAGE_URL?.trim() ?? '';
  if (!/^(?:https?:\/\/[^\s"<>]+|\/[^\s"<>]*)$/.test(url)) return '';
  return `<nav><a href="${escapeHtml(url)}">&larr; the comparison page: all five modes side by side</a></nav>\n`;
}

export function indexPage(request: Request, ctx: TsgiContext): Response {
  const facts = processFacts(ctx.environ);
  const rows: Array<[string, string]> = [
    ['mode', facts.mode],
    ['server software', facts.serverSoftware],
    ['pid', String(facts.pid)],
    ['requests served by this process', String(facts.requests)],
    ['SCRIPT_NAME', ctx.scriptName],
    ['PATH_INFO', ctx.pathInfo],
    ['REQUEST_URI', ctx.environ.REQUEST_URI ?? new URL(request.url).pathname],
  ];
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>yourapplication</title>
<style>
${STYLE}
</style>
</head>
<body>
<main>
${comparePageLink()}<h1>yourapplication</h1>
<p class="lead">One TypeScript app behind a web server. This request reached the app like this
(SCRIPT_NAME is the mount, PATH_INFO the path below it):</p>
<table>
${rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td><code>${escapeHtml(v)}</code></td></tr>`).join('\n')}
</table>
<h2>Routes</h2>
<table>
${ROUTES.map(([path, what]) => `<tr><td><a href="${escapeHtml(ctx.scriptName + path)}">${escapeHtml(ctx.scriptName + path)}</a></td><td>${escapeHtml(what)}</td></tr>`).join('\n')}
</table>
</main>
</body>
</html>
`;
  return new Response(html, { headers: { 'content-type': 'text/html; charset=utf-8' } });
}
