/** GET /: how this request reached the app, with links to every route (all under the mount). */
import type { TsgiContext } from '../gateway/types.ts';
import { processFacts } from './process-stats.ts';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const ROUTES: Array<[path: string, what: string]> = [
  ['/hello', 'the seeds’ Hello, World!'],
  ['/echo/some/path?a=1&a=2&b=%C3%A9', 'the request as the app sees it (JSON)'],
  ['/whoami', 'mode, pid and requests served by this process'],
  ['/redirect?to=/hello', 'a 302 that keeps the mount'],
  ['/cookies', 'two Set-Cookie headers scoped to the mount'],
  ['/stream?chunks=5', 'a streamed body without Content-Length'],
  ['/bytes/1024', '1024 deterministic bytes'],
  ['/status/418', 'any status code'],
  ['/slow?ms=500', 'a slow answer'],
  ['/error', 'a handler that throws: the gateway answers 500'],
];

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
<head><meta charset="utf-8"><title>yourapplication</title></head>
<body>
<h1>yourapplication</h1>
<p>This request reached the app like this:</p>
<table>
${rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td><code>${escapeHtml(v)}</code></td></tr>`).join('\n')}
</table>
<h2>Routes</h2>
<ul>
${ROUTES.map(([path, what]) => `<li><a href="${escapeHtml(ctx.scriptName + path)}">${escapeHtml(ctx.scriptName + path)}</a>: ${escapeHtml(what)}</li>`).join('\n')}
</ul>
</body>
</html>
`;
  return new Response(html, { headers: { 'content-type': 'text/html; charset=utf-8' } });
}
