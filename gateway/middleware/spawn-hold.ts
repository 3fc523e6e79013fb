/**
 * holdForSpawn(app): when the web server sets the CGI variable TSGI_HOLD_MS,
 * the gateway answers 204 after that many milliseconds (at most 5000) and
 * never calls the app. For mod_fcgid's pool warm-up
 * (images/common/fcgid-prespawn.sh), which needs one request that keeps an
 * app process busy for over a second, whatever app is served (APP_MODULE).
 * A client cannot set the variable: servers pass request headers only as
 * HTTP_* variables; configs/apache/fcgid.conf sets it for the warm-up's own
 * requests from inside the container.
 */
import { Response as TsgiResponse } from '../lazy-response.ts';
import type { TsgiApp } from '../types.ts';

const MAX_HOLD_MS = 5_000;

export function holdForSpawn(app: TsgiApp): TsgiApp {
  // Not an async function: every other request goes to the app as it is, so a
  // synchronous answer stays synchronous (no promise, no deadline, no microtasks).
  return (request, ctx) => {
    const hold = ctx.environ.TSGI_HOLD_MS;
    if (hold === undefined) return app(request, ctx);
    const ms = Math.min(MAX_HOLD_MS, /^\d{1,5}$/.test(hold) ? Number(hold) : 0);
    return new Promise((resolve) => setTimeout(() => resolve(new TsgiResponse(null, { status: 204 })), ms));
  };
}
