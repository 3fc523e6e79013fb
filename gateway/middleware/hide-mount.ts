/**
 * hideMount(app): serves a Fetch app that routes on `request.url` (Hono,
 * itty-router, a hand-written `new URL(request.url).pathname` switch) below a
 * mount, unchanged. WSGI apps route on PATH_INFO and never see the mount;
 * Fetch routers see the whole URL, so under SCRIPT_NAME=/blog a route
 * `app.get('/hello')` never matches "/blog/hello". With this the app is given
 * the URL without the mount ("/blog/hello?x" -> "/hello?x", the bare mount ->
 * "/"), while `ctx.scriptName` (and ctx.environ, REQUEST_URI included) still
 * tell where it is mounted; and what the app sends back is mapped into the
 * mount, as Apache's ProxyPassReverse and ProxyPassReverseCookiePath do for
 * a proxied app: a root-relative or same-origin `Location` and
 * `Content-Location`, and a cookie's `Path`. Relative URLs ("x", "../y")
 * need nothing: the browser resolves them against the URL it used.
 *
 * The app's Request is re-translated from CGI variables with the mount taken
 * out of the target (environ.ts, the one translator), so it is still the lazy
 * Request and costs what any request costs. Off unless asked for (`tsgi
 * --hide-mount`, `hide-mount = true`, the images' APP_HIDE_MOUNT): apps that
 * use ctx.scriptName themselves, like app/app.ts, need none of it. At the
 * root mount it is a pass-through.
 */
import { requestTarget } from '../environ.ts';
import type { Environ, TsgiApp } from '../types.ts';
import { requestWithVariables } from './context.ts';

/** Each segment percent-encoded: the fallback when the raw target does not spell the mount literally. */
function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

/** A "." or ".." segment, plain or encoded: it could climb back over the mount ("/m/../m/x"). */
const DOT_SEGMENT = /\/(?:\.|%2e)/i;

/**
 * The request target with the mount taken out. The raw target is kept when it
 * starts with the mount as written and has no dot segment after it (nearly
 * always), so the app sees the client's encoding as it would at the root;
 * otherwise ("%2E" for ".", "//" in the mount, "/m/../m/x") the server has
 * already resolved the path into SCRIPT_NAME and PATH_INFO, and the target is
 * rebuilt from PATH_INFO (encoded again) and the query.
 */
export function targetBelowMount(environ: Environ, mount: string, pathInfo: string): string {
  const target = requestTarget(environ);
  const queryAt = target.indexOf('?');
  const path = queryAt === -1 ? target : target.slice(0, queryAt);
  const query = queryAt === -1 ? '' : target.slice(queryAt);
  if (path === mount) return `/${query}`;
  if (path.startsWith(`${mount}/`)) {
    const rest = path.slice(mount.length);
    if (!DOT_SEGMENT.test(rest)) return rest + query;
  }
  return (encodePath(pathInfo) || '/') + query;
}

/** A URL the app made, moved into the mount; undefined when it needs no change. */
function intoMount(value: string, mount: string, origin: string): string | undefined {
  if (value.startsWith('/')) return value.startsWith('//') ? undefined : mount + value;
  const url = URL.parse(value);
  if (!url || url.origin !== origin) return undefined;
  url.pathname = mount + url.pathname;
  return url.href;
}

/** `Path=/x` -> `Path=<mount>/x`; `Path=/` -> `Path=<mount>` (the cookie then covers the mount and below it). */
function cookieIntoMount(cookie: string, mount: string): string {
  return cookie.replace(/(;\s*path\s*=\s*)(\/[^;]*)/i, (_all, attribute: string, path: string) => attribute + (path === '/' ? mount : mount + path));
}

function responseIntoMount(response: Response, mount: string, requestUrl: string): Response {
  const location = response.headers.get('location');
  const contentLocation = response.headers.get('content-location');
  const cookies = response.headers.getSetCookie();
  if (location === null && contentLocation === null && cookies.length === 0) return response;

  const origin = new URL(requestUrl).origin;
  const headers = new Headers(response.headers);
  let changed = false;
  for (const [name, value] of [['location', location], ['content-location', contentLocation]] as const) {
    const moved = value === null ? undefined : intoMount(value, mount, origin);
    if (moved !== undefined) { headers.set(name, moved); changed = true; }
  }
  const moved = cookies.map((cookie) => cookieIntoMount(cookie, mount));
  if (moved.some((cookie, i) => cookie !== cookies[i])) {
    headers.delete('set-cookie');
    for (const cookie of moved) headers.append('set-cookie', cookie);
    changed = true;
  }
  if (!changed) return response;
  // A new Response: the app's may have immutable headers (Response.redirect(), fetch()).
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

export function hideMount(app: TsgiApp): TsgiApp {
  return async (request, ctx) => {
    const mount = ctx.scriptName;
    if (mount === '') return app(request, ctx);
    // The target without the mount, for the translator: REQUEST_URI when the
    // server sent one (it is what the URL is made from), else SCRIPT_NAME "".
    const environ: Environ = ctx.environ.REQUEST_URI
      ? { ...ctx.environ, REQUEST_URI: targetBelowMount(ctx.environ, mount, ctx.pathInfo) }
      : { ...ctx.environ, SCRIPT_NAME: '' };
    const below = requestWithVariables(request, environ);
    const response = await app(below, ctx);
    return response instanceof Response ? responseIntoMount(response, mount, below.url) : response;
  };
}
