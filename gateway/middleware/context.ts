/** Small helpers the middleware share: path-segment matching and deriving a new context. */
import { deriveContext } from '../environ.ts';
import type { TsgiContext } from '../types.ts';

/**
 * The rest of `path` after `prefix` when the prefix matches whole path
 * segments ("/app" matches "/app" and "/app/x", never "/application"),
 * else undefined. A prefix of "" or "/" matches everything.
 */
export function afterSegmentPrefix(path: string, prefix: string): string | undefined {
  const bare = prefix.replace(/\/+$/, '');
  if (bare === '') return path;
  if (path === bare) return '';
  return path.startsWith(`${bare}/`) ? path.slice(bare.length) : undefined;
}

/**
 * A context with a new mount point. SCRIPT_NAME and PATH_INFO are updated in
 * the environ too, so code that reads the raw CGI variables agrees with ctx.
 */
export function remount(ctx: TsgiContext, scriptName: string, pathInfo: string, extra: Record<string, string> = {}): TsgiContext {
  return deriveContext(ctx, {
    scriptName,
    pathInfo,
    environ: { ...ctx.environ, ...extra, SCRIPT_NAME: scriptName, PATH_INFO: pathInfo },
  });
}
