/**
 * ScriptNameStripper, as in the seeds' yourapplication.fcgi: when a rewrite
 * rule hides the script ("/yourapplication.fcgi/news/" served as "/news/"),
 * the server still reports the script in SCRIPT_NAME and the app would build
 * URLs containing it. This removes `prefix` (whole path segments only) from
 * the front of SCRIPT_NAME; with no prefix it clears SCRIPT_NAME as the seed does.
 */
import type { TsgiApp } from '../types.ts';
import { afterSegmentPrefix, remount } from './context.ts';

export function stripScriptName(app: TsgiApp, prefix?: string): TsgiApp {
  return (request, ctx) => {
    const rest = prefix === undefined ? '' : afterSegmentPrefix(ctx.scriptName, prefix);
    if (rest === undefined || rest === ctx.scriptName) return app(request, ctx);
    return app(request, remount(ctx, rest, ctx.pathInfo));
  };
}
