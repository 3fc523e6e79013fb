/**
 * A mount dispatcher (Werkzeug's DispatcherMiddleware): several apps in one
 * process, each under its own prefix. The longest prefix matching whole path
 * segments wins; the prefix moves from PATH_INFO to SCRIPT_NAME, so each app
 * sees itself mounted there and builds its URLs accordingly.
 */
import { errorResponse } from '../errors.ts';
import type { TsgiApp } from '../types.ts';
import { afterSegmentPrefix, remount } from './context.ts';

/** Outside every mount: the same fixed 404 the web servers give outside theirs. */
const notFound: TsgiApp = () => errorResponse(404);

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
