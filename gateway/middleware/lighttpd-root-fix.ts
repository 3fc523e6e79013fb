/**
 * lighttpd, with the app mounted at "/" and no "fix-root-scriptname", splits
 * the path at its first segment: "/echo/a" arrives as SCRIPT_NAME "/echo",
 * PATH_INFO "/a". Apply this only for a root mount: it moves everything back
 * into PATH_INFO. (Our lighttpd config sets "fix-root-scriptname" instead;
 * this is for servers whose config you cannot change.)
 */
import type { TsgiApp } from '../types.ts';
import { remount } from './context.ts';

export function lighttpdRootFix(app: TsgiApp): TsgiApp {
  return (request, ctx) => app(request, remount(ctx, '', ctx.scriptName + ctx.pathInfo));
}
