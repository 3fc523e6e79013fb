/**
 * A mount dispatcher (Werkzeug's DispatcherMiddleware): several apps in one
 * process, each under its own prefix. The longest prefix matching whole path
 * segments wins; the prefix moves from PATH_INFO to SCRIPT_NAME, so each app
 * sees itself mounted there and builds its URLs accordingly.
 */
import type { TsgiApp } from '../types.ts';
import { afterSegmentPrefix, remount } from './context.ts';

const notFound: TsgiApp = () =>
  new Response('404 Not Found\n', { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8' } });

export function mount(apps: Record<string, TsgiApp>, fallback: TsgiApp = notFound): TsgiApp {
  const prefixes = Object.keys(apps)
    .map((prefix) => ({ prefix: prefix.replace(/\/+$/, ''), app: apps[prefix]! }))
    .sort((a, b) => b.prefix.length - a.prefix.length);
  return (request, ctx) => {
    for (const { prefix, app } of prefixes) {
      const rest = afterSegmentPrefix(ctx.pathInfo, prefix);
      if (rest !== undefined) return app(request, remount(ctx, ctx.scriptName + prefix, rest));
    }
    return fallback(request, ctx);
  };
}
