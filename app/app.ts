/**
 * yourapplication: the request inspector every deployment mode serves.
 * Routes are relative to the mount (ctx.scriptName); every URL the app
 * makes includes the mount. The contract: docs/design.md#3-the-route-contract.
 */
// TSGI's Response in place of the global: the same class to the app (instanceof Response),
// but the gateway writes a string or bytes answer without building undici's object
// (gateway/lazy-response.ts). The app still runs anywhere a Fetch app runs.
import { Response } from '../gateway/lazy-response.ts';
import type { TsgiApp, TsgiContext } from '../gateway/types.ts';
import { echo } from './echo.ts';
import { indexPage } from './index-page.ts';
import { jsonResponse } from './json.ts';
import { countRequest, processFacts } from './process-stats.ts';

const TEXT = { 'content-type': 'text/plain; charset=utf-8' };
const MAX_STREAM_CHUNKS = 1000;
const MAX_BYTES = 64 * 1024 * 1024;
const MAX_SLEEP_MS = 120_000;

function text(body: string, status = 200, headers: HeadersInit = {}): Response {
  return new Response(body, { status, headers: { ...TEXT, ...headers } });
}

/** An integer query or path parameter within [min, max], or undefined. */
function boundedInt(raw: string | null | undefined, min: number, max: number): number | undefined {
  if (raw == null || !/^\d{1,9}$/.test(raw)) return undefined;
  const n = Number(raw);
  return n >= min && n <= max ? n : undefined;
}

function hello(): Response {
  return text('Hello, World!\n', 200, { 'content-length': '14' });
}

/** Only paths inside this app: "//evil.example" or "https://..." would make an open redirect. */
function redirect(request: Request, ctx: TsgiContext): Response {
  const to = new URL(request.url).searchParams.get('to') ?? '/';
  if (!to.startsWith('/') || to.startsWith('//') || to.includes('\\')) return text('to must be a path inside the app\n', 400);
  const location = ctx.scriptName + to;
  return new Response(`Redirecting to ${location}\n`, { status: 302, headers: { ...TEXT, location } });
}

function cookies(ctx: TsgiContext): Response {
  const path = ctx.scriptName || '/';
  const headers = new Headers(TEXT);
  headers.append('set-cookie', `session=abc123; Path=${path}; HttpOnly; SameSite=Lax`);
  headers.append('set-cookie', `theme=dark; Path=${path}`);
  return new Response('two cookies set\n', { headers });
}

/** N chunks, one every 10 ms, with no Content-Length: the servers must pass them through. */
function stream(request: Request, ctx: TsgiContext): Response {
  const chunks = boundedInt(new URL(request.url).searchParams.get('chunks') ?? '5', 0, MAX_STREAM_CHUNKS);
  if (chunks === undefined) return text(`chunks must be 0..${MAX_STREAM_CHUNKS}\n`, 400);
  const encoder = new TextEncoder();
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (sent === chunks || ctx.signal.aborted) return controller.close();
      if (sent > 0) await new Promise((resolve) => setTimeout(resolve, 10));
      sent += 1;
      controller.enqueue(encoder.encode(`chunk ${sent} of ${chunks}\n`));
    },
  });
  return new Response(body, { headers: TEXT });
}

/** Byte i is (i * 7 + 3) mod 251: deterministic, not all-equal, and cheap to check in tests. */
export function deterministicByte(i: number): number {
  return (i * 7 + 3) % 251;
}

function bytes(count: number): Response {
  const CHUNK = 64 * 1024;
  let offset = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= count) return controller.close();
      const chunk = new Uint8Array(Math.min(CHUNK, count - offset));
      for (let i = 0; i < chunk.length; i++) chunk[i] = deterministicByte(offset + i);
      offset += chunk.length;
      controller.enqueue(chunk);
    },
  });
  return new Response(body, {
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(count) },
  });
}

function status(code: number): Response {
  const bodyless = code === 204 || code === 205 || code === 304;
  return new Response(bodyless ? null : `status ${code}\n`, { status: code, headers: bodyless ? {} : TEXT });
}

async function slow(request: Request, ctx: TsgiContext): Promise<Response> {
  const ms = boundedInt(new URL(request.url).searchParams.get('ms') ?? '1000', 0, MAX_SLEEP_MS);
  if (ms === undefined) return text(`ms must be 0..${MAX_SLEEP_MS}\n`, 400);
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    ctx.signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
  });
  return text(`slept ${ms} ms\n`);
}

/**
 * The process facts plus SCRIPT_NAME and PATH_INFO as this request reached the
 * app, which is what the comparison page (front/) shows per mode.
 */
function whoami(ctx: TsgiContext): Response {
  return jsonResponse({ ...processFacts(ctx.environ), scriptName: ctx.scriptName, pathInfo: ctx.pathInfo });
}

function notFound(ctx: TsgiContext): Response {
  return text(`yourapplication: no route for ${ctx.pathInfo || '/'}\n`, 404);
}

function methodNotAllowed(): Response {
  return text('method not allowed\n', 405, { allow: 'GET, HEAD' });
}

/** A route's handler. The routes that read the query parse request.url themselves: most never need a URL object. */
type Handler = (request: Request, ctx: TsgiContext, params: string[]) => Response | Promise<Response>;

/** GET routes, matched on PATH_INFO (HEAD answers the same headers; the gateway drops the body). */
const GET_ROUTES: Array<[pattern: RegExp, handler: Handler]> = [
  [/^\/?$/, (request, ctx) => indexPage(request, ctx)],
  [/^\/hello$/, () => hello()],
  [/^\/whoami$/, (_request, ctx) => whoami(ctx)],
  [/^\/redirect$/, (request, ctx) => redirect(request, ctx)],
  [/^\/cookies$/, (_request, ctx) => cookies(ctx)],
  [/^\/stream$/, (request, ctx) => stream(request, ctx)],
  [/^\/slow$/, (request, ctx) => slow(request, ctx)],
  [/^\/error$/, () => { throw new Error('this handler throws on purpose (GET /error)'); }],
  [/^\/bytes\/(\d+)$/, (_request, _ctx, [n]) => {
    const count = boundedInt(n, 0, MAX_BYTES);
    return count === undefined ? text(`n must be 0..${MAX_BYTES}\n`, 400) : bytes(count);
  }],
  [/^\/status\/(\d+)$/, (_request, _ctx, [n]) => {
    const code = boundedInt(n, 200, 599);
    return code === undefined ? text('code must be 200..599\n', 400) : status(code);
  }],
];

const app: TsgiApp = (request, ctx) => {
  countRequest();
  const path = ctx.pathInfo;
  if (path === '/echo' || path.startsWith('/echo/')) return echo(request, ctx);
  for (const [pattern, handler] of GET_ROUTES) {
    const match = pattern.exec(path);
    if (!match) continue;
    if (request.method !== 'GET' && request.method !== 'HEAD') return methodNotAllowed();
    return handler(request, ctx, match.slice(1));
  }
  return notFound(ctx);
};

export default app;
