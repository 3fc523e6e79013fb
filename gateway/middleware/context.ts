/** Small helpers the middleware share: path-segment matching, deriving a new context or request. */
import { deriveContext, requestUrl, requestWithEnviron } from '../environ.ts';
import type { Environ, TsgiContext } from '../types.ts';

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

/**
 * The same request as other CGI variables describe it (url, scheme, host):
 * re-translated by environ.ts when the gateway made it (still lazy, same body
 * and signal); a Request from elsewhere is copied with the new URL.
 */
export function requestWithVariables(request: Request, environ: Environ): Request {
  return requestWithEnviron(request, environ) ?? new Request(requestUrl(environ), {
    method: request.method,
    headers: request.headers,
    body: request.body,
    signal: request.signal,
    duplex: 'half',
  } as RequestInit);
}
