/**
 * genuineRequest(app): the app receives undici's own Request instead of the
 * gateway's lazy one. Only for apps that pass the request itself to code that
 * checks undici's private state (`new Request(request, init)`, `fetch(request)`);
 * it costs what the lazy Request saves (a URL parse, a Headers list, an
 * AbortController per request), so it is opt-in.
 */
import { TsgiRequest } from '../lazy-request.ts';
import type { TsgiApp } from '../types.ts';

export function genuineRequest(app: TsgiApp): TsgiApp {
  return (request, ctx) => app(TsgiRequest.genuine(request), ctx);
}
