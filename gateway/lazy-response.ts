/**
 * A Response for apps that want the gateway's fast path: a real
 * `instanceof Response` whose undici object is built only when something
 * needs it. An app opts in by importing it in place of the global:
 *
 *     import { Response } from '../gateway/lazy-response.ts';
 *
 * Why: undici's `new Response('Hello')` and reading its body back through a
 * ReadableStream cost more per request than the whole of the gateway's HTTP
 * transport (docs/performance.md has the profile). A response made from a
 * string or bytes, with plain-object headers, is by far the common case; for
 * it this class keeps the status, the headers (already validated and
 * normalized as undici would) and the body, and the gateway writes them in one
 * write without ever creating a stream. @hono/node-server gets its speed the
 * same way, but by replacing the global Response for the whole process; here
 * nothing global changes: an app, or a single module, chooses it.
 *
 * Everything else behaves exactly as undici's Response, because it is
 * undici's: the constructor hands any other input (a stream, a Blob,
 * FormData, a Headers object, an array of pairs, an unusual status or header)
 * to undici at once, so errors are thrown where undici throws them, and every
 * member not answered here (headers, body, text(), clone(), ...) builds the
 * undici Response from the same parts and delegates to it. Once built, it is
 * the truth: the gateway then reads it like any other Response.
 */
import { util } from './builtins.ts';
import { delegateMembers, RESPONSE_MEMBERS } from './delegate-members.ts';
// A header name undici accepts is a token.
import { TOKEN } from './http-token.ts';

/** undici's default Content-Type for a string body (fetch spec, "extract a body"). */
const TEXT_TYPE = 'text/plain;charset=UTF-8';
const JSON_TYPE = 'application/json';

/** What undici rejects in a value once leading and trailing whitespace is trimmed; and above U+00FF (not a ByteString). */
const BAD_VALUE = /[\0\r\n\u0100-\uffff]/;
/** The reason-phrase rule undici checks statusText against. */
const REASON_PHRASE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** Leading and trailing HTTP whitespace, which undici strips from values. */
const EDGE_WHITESPACE = /^[\t\n\r ]+|[\t\n\r ]+$/g;

/** What the gateway writes for a response nobody touched. */
export interface ResponseParts {
  readonly status: number;
  /** Lowercase names in the order Headers iterates them (sorted), without set-cookie. */
  readonly headers: ReadonlyArray<readonly [name: string, value: string]>;
  /** Each set-cookie value (a record holds at most one). */
  readonly setCookies: readonly string[];
  /** A string (UTF-8 on the wire) or the app's bytes, copied as undici copies them; null for no body. */
  readonly body: string | Uint8Array | null;
}

interface Parts extends ResponseParts {
  readonly statusText: string;
}

function isWhitespace(code: number): boolean {
  return code === 0x09 || code === 0x0a || code === 0x0d || code === 0x20;
}

function hasEdgeWhitespace(value: string): boolean {
  return value.length > 0 && (isWhitespace(value.charCodeAt(0)) || isWhitespace(value.charCodeAt(value.length - 1)));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * The parts of `new Response(body, init)` when this class can answer for
 * undici exactly; undefined for anything it leaves to undici (which may
 * accept it, or throw the error an app must see).
 */
function partsOf(body: unknown, init: unknown, defaultType: string | null): Parts | undefined {
  let kept: string | Uint8Array | null;
  if (body === null || body === undefined) kept = null;
  else if (typeof body === 'string') kept = body;
  else if (body instanceof Uint8Array) kept = new Uint8Array(body) as Uint8Array<ArrayBuffer>;
  else return undefined;

  let status = 200;
  let statusText = '';
  let record: Record<string, unknown> | undefined;
  if (init !== undefined && init !== null) {
    if (!isPlainObject(init)) return undefined;
    const given = init.status;
    if (given !== undefined) {
      if (typeof given !== 'number' || !Number.isInteger(given) || given < 200 || given > 599) return undefined;
      status = given;
    }
    const text = init.statusText;
    if (text !== undefined) {
      if (typeof text !== 'string' || !REASON_PHRASE.test(text)) return undefined;
      statusText = text;
    }
    const headers = init.headers;
    if (headers !== undefined && headers !== null) {
      if (!isPlainObject(headers)) return undefined;
      record = headers;
    }
  }
  // A body with 204, 205 or 304 is a TypeError in undici.
  if (kept !== null && (status === 204 || status === 205 || status === 304)) return undefined;

  const list: Array<[string, string]> = [];
  const setCookies: string[] = [];
  let hasType = false;
  if (record) {
    if (Object.getOwnPropertySymbols(record).length > 0) return undefined;
    // undici reads every own name, enumerable or not (its record conversion).
    for (const key of Object.getOwnPropertyNames(record)) {
      const raw = record[key];
      if (typeof raw !== 'string' || !TOKEN.test(key)) return undefined;
      const value = hasEdgeWhitespace(raw) ? raw.replace(EDGE_WHITESPACE, '') : raw;
      if (BAD_VALUE.test(value)) return undefined;
      const name = key.toLowerCase();
      if (name === 'set-cookie') {
        setCookies.push(value);
        continue;
      }
      // Two spellings of one name are combined by undici; rare enough to leave to it.
      if (list.some(([seen]) => seen === name)) return undefined;
      if (name === 'content-type') hasType = true;
      list.push([name, value]);
    }
  }
  if (kept !== null && defaultType !== null && !hasType) list.push(['content-type', defaultType]);
  if (list.length > 1) list.sort((a, b) => (a[0] < b[0] ? -1 : 1));
  return { status, statusText, headers: list, setCookies, body: kept };
}

export class TsgiResponse {
  #parts: Parts | null;
  #full: Response | null;
  /** The gateway has written the body (see take): it is used, as undici's is once read. */
  #bodyTaken = false;

  constructor(body?: BodyInit | null, init?: ResponseInit) {
    this.#parts = partsOf(body, init, typeof body === 'string' ? TEXT_TYPE : null) ?? null;
    this.#full = this.#parts ? null : new globalThis.Response(body, init);
  }

  /** As undici's Response.json(): the JSON text as the body, application/json unless init says otherwise. */
  static json(data: unknown, init?: ResponseInit): Response {
    const text = JSON.stringify(data);
    if (text === undefined) throw new TypeError('Value is not JSON serializable');
    const response = new TsgiResponse(null, undefined);
    const parts = partsOf(text, init, JSON_TYPE);
    if (parts) response.#parts = parts;
    else {
      response.#parts = null;
      response.#full = globalThis.Response.json(data, init);
    }
    return response as unknown as Response;
  }

  /** undici's own: a network error. */
  static error(): Response {
    return globalThis.Response.error();
  }

  /** undici's own: the checks on the URL and the status are its. */
  static redirect(url: string | URL, status?: number): Response {
    return globalThis.Response.redirect(url, status);
  }

  /**
   * The parts to write, if nothing has built the undici Response yet (then
   * read that instead). Taking them uses the body, as the gateway reading an
   * undici Response does: a Response with a body that is returned again
   * (say, a module-level constant) fails the second time, as undici's does,
   * instead of being written twice.
   */
  static take(response: Response): ResponseParts | undefined {
    if (!(#parts in response)) return undefined;
    const self = response as unknown as TsgiResponse;
    const parts = self.#parts;
    if (!parts) return undefined;
    if (self.#bodyTaken) throw new TypeError('Body is unusable: Body has already been read');
    if (parts.body !== null) self.#bodyTaken = true;
    return parts;
  }

  /** The undici Response, built once from the same parts (with its body used if the gateway took it). */
  static full(response: TsgiResponse): Response {
    if (response.#full) return response.#full;
    const parts = response.#parts!;
    const headers: Array<[string, string]> = parts.headers.map(([name, value]) => [name, value]);
    for (const cookie of parts.setCookies) headers.push(['set-cookie', cookie]);
    const full = new globalThis.Response(parts.body as BodyInit | null, { status: parts.status, statusText: parts.statusText, headers });
    // Read, as the gateway would have read undici's: bodyUsed, and text(), clone()... refuse.
    if (response.#bodyTaken) void full.body!.getReader().read();
    response.#full = full;
    response.#parts = null;
    return full;
  }

  get status(): number {
    return this.#parts ? this.#parts.status : this.#full!.status;
  }

  get ok(): boolean {
    const status = this.status;
    return status >= 200 && status <= 299;
  }

  get statusText(): string {
    return this.#parts ? this.#parts.statusText : this.#full!.statusText;
  }

  get type(): ResponseType {
    return this.#parts ? 'default' : this.#full!.type;
  }

  get url(): string {
    return this.#parts ? '' : this.#full!.url;
  }

  get redirected(): boolean {
    return this.#parts ? false : this.#full!.redirected;
  }

  get bodyUsed(): boolean {
    return this.#parts ? this.#bodyTaken : this.#full!.bodyUsed;
  }

  [util.inspect.custom](depth: number, options: object): string {
    return util.inspect(TsgiResponse.full(this), { ...options, depth });
  }
}

// Every other member of Response.prototype is answered by the undici Response;
// behind them, Response.prototype, read only when instanceof asks (see delegate-members.ts).
delegateMembers(TsgiResponse.prototype, 'Response', RESPONSE_MEMBERS, (response) => TsgiResponse.full(response));

/** For apps: `import { Response } from '.../lazy-response.ts'` shadows the global in that module only. */
export const Response = TsgiResponse as unknown as typeof globalThis.Response;
export type Response = globalThis.Response;
