/**
 * The Request an app receives: a real `instanceof Request` whose undici
 * object is built only when the app touches something that needs it.
 *
 * Why: `new Request(url, { headers, signal })` per request was the largest
 * single cost of the gateway (URL parsing, a Headers list, an AbortController,
 * and with a signal a WeakRef plus a FinalizationRegistry entry that keep the
 * request alive until a full mark-compact GC: the old-space growth the
 * benchmarks showed). Routing apps read `method` and often `url`; those two
 * are answered from the CGI variables directly, through the same translator
 * (./environ.ts) that builds the full Request when anything else is asked for.
 *
 * Every other Request member (headers, body, text(), formData(), ...) is
 * delegated to the full Request, so it behaves exactly as undici's does.
 * `signal` is the gateway's (client gone, FCGI_ABORT_REQUEST, app timeout).
 * `clone()` returns a genuine undici Request following the same signal.
 *
 * One limit, documented in docs/performance.md: undici checks its own private
 * state, so `new Request(request)` and `fetch(request)` need a genuine Request:
 * pass `request.clone()`, or wrap the app in genuineRequest()
 * (./middleware/genuine-request.ts), which hands it undici's own.
 */
import { util } from './builtins.ts';
import { delegateMembers, REQUEST_MEMBERS } from './delegate-members.ts';
import { limitedBody, requestHeaders, requestUrl, type BodySource } from './environ.ts';
import type { RequestSignal } from './request-signal.ts';
import type { Environ } from './types.ts';

/** What the full Request is built from: the translator's inputs for one request. */
export interface RequestParts {
  /** httpoxy already removed. */
  readonly environ: Environ;
  readonly method: string;
  readonly withBody: boolean;
  readonly contentLength: number | undefined;
  readonly openBody: (() => BodySource) | null;
  readonly bodyLimit: number;
  readonly signal: RequestSignal;
}

export class TsgiRequest {
  readonly #parts: RequestParts;
  #url: string | undefined;
  #full: Request | null = null;

  constructor(parts: RequestParts) {
    this.#parts = parts;
  }

  get method(): string {
    return this.#parts.method;
  }

  get url(): string {
    return (this.#url ??= requestUrl(this.#parts.environ));
  }

  get signal(): AbortSignal {
    return this.#parts.signal.signal;
  }

  get bodyUsed(): boolean {
    return this.#full?.bodyUsed ?? false;
  }

  /**
   * What this request was translated from, while its full Request is not built
   * yet (middleware then re-translate instead of copying; once built, its body
   * may be in use and only a copy of the full Request is right).
   */
  static partsOf(request: Request): RequestParts | undefined {
    if (!(#parts in request)) return undefined;
    const lazy = request as unknown as TsgiRequest;
    return lazy.#full ? undefined : lazy.#parts;
  }

  /** The undici Request, built once, without a signal of its own (see `signal` above). */
  static full(request: TsgiRequest): Request {
    if (request.#full) return request.#full;
    const parts = request.#parts;
    const init: RequestInit & { duplex?: 'half' } = { method: parts.method, headers: requestHeaders(parts.environ, parts.withBody) };
    if (parts.withBody && parts.openBody) {
      init.body = limitedBody(parts.openBody, parts.contentLength, parts.bodyLimit);
      init.duplex = 'half';
    }
    request.#full = new Request(request.url, init);
    return request.#full;
  }

  /** The same request as undici's own object, following the same signal; its body is this one's (not teed). */
  static genuine(request: Request): Request {
    if (!(#parts in request)) return request;
    const lazy = request as unknown as TsgiRequest;
    return new Request(TsgiRequest.full(lazy), { signal: lazy.signal });
  }

  clone(): Request {
    // Tee the body (undici's clone), then give the copy a signal that follows ours.
    return new Request(TsgiRequest.full(this).clone(), { signal: this.signal });
  }

  [util.inspect.custom](depth: number, options: object): string {
    return util.inspect(TsgiRequest.full(this), { ...options, depth });
  }
}

// Everything else Request.prototype has is answered by the full Request.
// Behind it, Request.prototype, read only when instanceof asks (see delegate-members.ts).
delegateMembers(TsgiRequest.prototype, 'Request', REQUEST_MEMBERS, (request) => TsgiRequest.full(request));
