/**
 * An HTTP request head -> CGI meta-variables (RFC 3875 section 4.1).
 *
 * The HTTP transport does not build a Request itself: it builds the same
 * environment a web server would hand a CGI or FastCGI app and passes it to
 * the one translator (gateway/environ.ts requestFromEnviron). So the app sees
 * the same url, headers, scriptName and pathInfo whichever way it was reached.
 *
 * What a web server does, we do:
 * - PATH_INFO is the percent-DECODED, normalised path (see decodeRequestPath),
 *   REQUEST_URI the raw request target, QUERY_STRING raw.
 * - SCRIPT_NAME is "": mounting is the job of the proxy-fix / script-name middleware.
 * - Every header becomes HTTP_*, except names containing "_" (nginx, Apache and
 *   gunicorn 22 drop them: "X_User" and "X-User" would both be HTTP_X_USER, so a
 *   client could spoof a header a proxy sets) and Proxy (httpoxy: HTTP_PROXY is
 *   where proxy-aware code looks for its configuration).
 */
import { TLSSocket } from 'node:tls';

export const DEFAULT_SERVER_SOFTWARE = `tsgi-http node/${process.versions.node}`;

export interface HttpEnvironOptions {
  /** SERVER_SOFTWARE; the app's index page shows it. */
  serverSoftware?: string;
}

/** The request target cannot be turned into a path (the server answers 400, as nginx does). */
export class InvalidRequestTarget extends Error {
  constructor(target: string, why: string) {
    super(`invalid request target ${JSON.stringify(target)}: ${why}`);
    this.name = 'InvalidRequestTarget';
  }
}

const HEX = /^[0-9a-fA-F]{2}$/;

/**
 * Percent-decodes a path into bytes and reads them as UTF-8 (invalid
 * sequences become U+FFFD, as Node does for a CGI environment). A "%" not
 * followed by two hex digits, and %00, are rejected: nginx answers 400 to both.
 */
function percentDecode(rawPath: string, target: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < rawPath.length; i++) {
    const code = rawPath.charCodeAt(i);
    if (code === 0x25 /* % */) {
      const hex = rawPath.slice(i + 1, i + 3);
      if (!HEX.test(hex)) throw new InvalidRequestTarget(target, 'bad percent-encoding');
      const byte = Number.parseInt(hex, 16);
      if (byte === 0) throw new InvalidRequestTarget(target, 'encoded NUL');
      bytes.push(byte);
      i += 2;
    } else if (code < 0x80) {
      bytes.push(code);
    } else {
      // node:http hands the target over as latin1: each char is one byte off the wire.
      bytes.push(code & 0xff);
    }
  }
  return new TextDecoder('utf-8').decode(Uint8Array.from(bytes));
}

/**
 * A path that decoding and normalising leave as it is: printable ASCII
 * segments without "%", none empty (no "//") and none starting with "."
 * (so no "." or ".." segments), an optional trailing "/".
 */
const ALREADY_NORMAL_PATH = /^\/(?:(?!\.)[^/%\0-\x20\x7f-\uffff]+(?:\/(?!\.)[^/%\0-\x20\x7f-\uffff]+)*\/?)?$/;

/**
 * The path a web server gives a CGI app as PATH_INFO, normalised exactly like
 * nginx's $uri (measured against nginx 1.22, `return 200 $uri`):
 *   1. percent-decode everything, %2F included ("/a%2Fb" -> "/a/b");
 *      bad escapes and %00 -> InvalidRequestTarget;
 *   2. then (so encoded slashes and dots count too) merge runs of "/"
 *      ("/a//b", "/a%2F%2Fb" -> "/a/b");
 *   3. drop "." segments and let ".." remove the previous one, "%2e%2e" included
 *      ("/a/../b" -> "/b", "/a/b/.." -> "/a/", "/a/b/." -> "/a/b/", "/%2e" -> "/");
 *      a segment that ends in "." or ".." leaves a trailing "/";
 *      ".." above the root -> InvalidRequestTarget ("/..", "/a/../..");
 *   4. anything else stays as decoded: "+", ";", "\", "/a/.b", "/a/..." , "%25" -> "%".
 * Decoding before normalising is what makes "/a/%2e%2e/secret" safe.
 */
export function decodeRequestPath(rawPath: string, target: string = rawPath): string {
  // Most paths have nothing to decode or normalise; they are their own PATH_INFO.
  if (ALREADY_NORMAL_PATH.test(rawPath)) return rawPath;
  if (!rawPath.startsWith('/')) throw new InvalidRequestTarget(target, 'the path must start with "/"');
  const segments = percentDecode(rawPath, target).split('/');
  const kept: string[] = [];
  let trailingSlash = false;
  // segments[0] is the empty string before the leading "/".
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i];
    const last = i === segments.length - 1;
    if (segment === '' || segment === '.') {
      trailingSlash = last;
    } else if (segment === '..') {
      if (kept.length === 0) throw new InvalidRequestTarget(target, '".." above the root');
      kept.pop();
      trailingSlash = last;
    } else {
      kept.push(segment);
      trailingSlash = false;
    }
  }
  if (kept.length === 0) return '/';
  return `/${kept.join('/')}${trailingSlash ? '/' : ''}`;
}

/**
 * Splits a request target into its raw path and raw query. Origin-form
 * ("/p?q") and absolute-form ("http://host/p?q", what proxies may send); the
 * fragment, which clients should not send, is dropped as nginx does. The
 * asterisk-form ("OPTIONS *") and anything else not starting with "/" are
 * rejected like nginx rejects them.
 */
export function splitRequestTarget(target: string): { path: string; query: string } {
  let rest = target;
  const absolute = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(rest);
  if (absolute) rest = rest.slice(absolute[0].length) || '/';
  const hash = rest.indexOf('#');
  if (hash !== -1) rest = rest.slice(0, hash);
  const question = rest.indexOf('?');
  const path = question === -1 ? rest : rest.slice(0, question);
  const query = question === -1 ? '' : rest.slice(question + 1);
  if (!path.startsWith('/')) throw new InvalidRequestTarget(target, 'the path must start with "/"');
  return { path, query };
}

/**
 * Joins repeated headers the way nginx does for $http_* and FastCGI params
 * (1.23+): "; " for Cookie (RFC 6265 section 5.4 forbids several Cookie
 * headers, and a comma is not a cookie separator), ", " otherwise (RFC 9110 5.3).
 */
function joinValues(name: string, values: string[]): string {
  return values.join(name === 'cookie' ? '; ' : ', ');
}

/** Header names seen before and their variables: the same few names come with every request. */
const variableCache = new Map<string, string | undefined>();
const VARIABLE_CACHE_SIZE = 512;

/** "HTTP_" + upper-case name with "-" -> "_", or undefined when the header must not be passed. */
export function headerVariable(lowerName: string): string | undefined {
  const cached = variableCache.get(lowerName);
  if (cached !== undefined || variableCache.has(lowerName)) return cached;
  const variable = computeHeaderVariable(lowerName);
  // Bounded: a client inventing header names must not grow it without end.
  if (variableCache.size < VARIABLE_CACHE_SIZE) variableCache.set(lowerName, variable);
  return variable;
}

function computeHeaderVariable(lowerName: string): string | undefined {
  if (lowerName.includes('_')) return undefined;
  if (lowerName === 'proxy') return undefined;
  // Represented by CONTENT_TYPE / CONTENT_LENGTH (RFC 3875 section 4.1.18 says not to duplicate them).
  if (lowerName === 'content-type' || lowerName === 'content-length') return undefined;
  return `HTTP_${lowerName.toUpperCase().replaceAll('-', '_')}`;
}

/** An IPv4 client on a dual-stack socket shows up as ::ffff:a.b.c.d; CGI wants a.b.c.d. */
function plainAddress(address: string | undefined): string {
  if (!address) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice('::ffff:'.length) : address;
}

/** What the translation needs of a request head: node:http's IncomingMessage has it, and so has ./wire.ts's RequestHead. */
export interface HttpRequestHead {
  readonly method?: string;
  readonly url?: string;
  readonly httpVersion: string;
  /** [name, value, name, value, ...] in the order received. */
  readonly rawHeaders: string[];
}

/** The connection's ends, as a net.Socket reports them. */
export interface ConnectionEnds {
  readonly localAddress?: string;
  readonly localPort?: number;
  readonly remoteAddress?: string;
  readonly remotePort?: number;
}

/**
 * SERVER_NAME and SERVER_PORT come from the local end of the connection: the
 * address and port this server accepted it on (IPv6 in brackets, so the
 * translator can build a URL from it). A unix socket has neither, so they
 * fall back to the Host header, then to localhost:80.
 */
function serverNameAndPort(socket: ConnectionEnds, hostHeader: string | undefined): { name: string; port: string } {
  if (socket.localAddress && socket.localPort) {
    const address = plainAddress(socket.localAddress);
    return { name: address.includes(':') ? `[${address}]` : address, port: String(socket.localPort) };
  }
  const host = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(hostHeader ?? '');
  if (host && host[1]) return { name: host[1], port: host[2] ?? '80' };
  return { name: 'localhost', port: '80' };
}

/** The first value of a header (names compared case-insensitively). */
function firstValue(raw: string[], lowerName: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === lowerName.length && raw[i]!.toLowerCase() === lowerName) return raw[i + 1];
  }
  return undefined;
}

/** The CGI environment of one HTTP request (node:http's IncomingMessage or our own head). Throws InvalidRequestTarget for a target nginx would reject. */
export function environFromIncoming(req: HttpRequestHead & { socket: ConnectionEnds }, options: HttpEnvironOptions = {}): Record<string, string> {
  return environFromHead(req, req.socket, options);
}

export function environFromHead(req: HttpRequestHead, socket: ConnectionEnds, options: HttpEnvironOptions = {}): Record<string, string> {
  const target = req.url ?? '/';
  const { path, query } = splitRequestTarget(target);
  const https = socket instanceof TLSSocket;
  const raw = req.rawHeaders;
  const server = serverNameAndPort(socket, socket.localPort ? undefined : firstValue(raw, 'host'));

  const environ: Record<string, string> = {
    GATEWAY_INTERFACE: 'CGI/1.1',
    SERVER_SOFTWARE: options.serverSoftware ?? DEFAULT_SERVER_SOFTWARE,
    SERVER_PROTOCOL: `HTTP/${req.httpVersion}`,
    SERVER_NAME: server.name,
    SERVER_PORT: server.port,
    REQUEST_METHOD: req.method ?? 'GET',
    REQUEST_SCHEME: https ? 'https' : 'http',
    REQUEST_URI: target,
    SCRIPT_NAME: '',
    PATH_INFO: decodeRequestPath(path, target),
    QUERY_STRING: query,
    REMOTE_ADDR: plainAddress(socket.remoteAddress),
    REMOTE_PORT: socket.remotePort === undefined ? '' : String(socket.remotePort),
  };
  if (https) environ.HTTPS = 'on';

  // rawHeaders keeps every repetition in order. Content-Type and
  // Content-Length become their own variables (the first of each: a second
  // Content-Length never gets this far).
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (name === 'content-type') {
      environ.CONTENT_TYPE ??= raw[i + 1]!;
      continue;
    }
    if (name === 'content-length') {
      environ.CONTENT_LENGTH ??= raw[i + 1]!;
      continue;
    }
    const variable = headerVariable(name);
    if (!variable) continue;
    const previous = environ[variable];
    environ[variable] = previous === undefined ? raw[i + 1]! : joinValues(name, [previous, raw[i + 1]!]);
  }
  return environ;
}
