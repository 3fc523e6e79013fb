/**
 * ProxyFix: behind a reverse proxy, the client's address, scheme, host and the
 * mount prefix arrive in headers the proxy sets. Those headers are also what
 * an attacker sends, so each one is trusted only for a configured number of
 * proxy hops, counted from the right, and nothing is trusted by default.
 *
 *   x-forwarded-for, -proto, -host, -port, -prefix   counts per header
 *   forwarded (RFC 7239)                             its own count; applied after the X- headers
 *
 * With a count of 1 the value the nearest proxy appended is used; with N,
 * the Nth from the right; with fewer values than N, the header is ignored
 * (someone skipped a proxy). The values the request had before are kept in
 * ctx.environ under "tsgi.proxy_fix.orig.<NAME>".
 */
import { deriveContext, isHttps } from '../environ.ts';
import type { Environ, TsgiApp } from '../types.ts';
import { afterSegmentPrefix, requestWithVariables } from './context.ts';

export interface ProxyFixTrust {
  for?: number;
  proto?: number;
  host?: number;
  port?: number;
  prefix?: number;
  forwarded?: number;
}

const TRUST_KEYS = ['for', 'proto', 'host', 'port', 'prefix', 'forwarded'] as const;

/** Parses "for=1,proto=1,host=1,prefix=1" (the CLI's --trust-proxy). */
export function parseProxyTrust(spec: string): ProxyFixTrust {
  const trust: ProxyFixTrust = {};
  for (const part of spec.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [key, count = '1'] = part.split('=');
    if (!(TRUST_KEYS as readonly string[]).includes(key!)) {
      throw new Error(`--trust-proxy: unknown header "${key}" (expected ${TRUST_KEYS.join(', ')})`);
    }
    if (!/^\d+$/.test(count)) throw new Error(`--trust-proxy: "${part}": the hop count must be a whole number`);
    trust[key as keyof ProxyFixTrust] = Number(count);
  }
  return trust;
}

/** The value `hops` from the right of a comma-separated header, or undefined if it can't be trusted. */
export function trustedValue(header: string | null, hops: number | undefined): string | undefined {
  if (!header || !hops) return undefined;
  // One proxy, one value: the common case, without splitting (every request pays for this).
  if (!header.includes(',')) return hops === 1 ? header.trim() || undefined : undefined;
  const values = header.split(',').map((v) => v.trim());
  return values.length >= hops ? values[values.length - hops] || undefined : undefined;
}

interface Forwarded { for?: string; proto?: string; host?: string }

/** RFC 7239 section 4: elements separated by ",", pairs by ";", values tokens or quoted strings. */
export function parseForwarded(header: string): Forwarded[] {
  const elements: Forwarded[] = [];
  for (const element of header.match(/(?:[^,"]|"(?:[^"\\]|\\.)*")+/g) ?? []) {
    const fields: Forwarded = {};
    for (const pair of element.match(/(?:[^;"]|"(?:[^"\\]|\\.)*")+/g) ?? []) {
      const eq = pair.indexOf('=');
      if (eq === -1) continue;
      const key = pair.slice(0, eq).trim().toLowerCase();
      let value = pair.slice(eq + 1).trim();
      if (value.startsWith('"')) value = value.slice(1, -1).replace(/\\(.)/g, '$1');
      if (key === 'for' || key === 'proto' || key === 'host') fields[key] = value;
    }
    elements.push(fields);
  }
  return elements;
}

/** "[2001:db8::1]:4711" -> "2001:db8::1", "192.0.2.60:47011" -> "192.0.2.60". */
function nodeAddress(node: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(node);
  if (bracketed) return bracketed[1]!;
  return /^[^:]+:\d+$/.test(node) ? node.slice(0, node.lastIndexOf(':')) : node;
}

interface Fixed { remoteAddr?: string; proto?: string; host?: string; port?: string; prefix?: string }

/**
 * Read from the CGI variables, not from request.headers: they hold the same
 * values (repeated headers joined with ", ", as Headers.get joins them), and
 * reading them does not make the lazy Request build its Headers.
 */
function resolve(environ: Environ, trust: ProxyFixTrust): Fixed {
  const fixed: Fixed = {
    remoteAddr: trustedValue(environ.HTTP_X_FORWARDED_FOR ?? null, trust.for),
    proto: trustedValue(environ.HTTP_X_FORWARDED_PROTO ?? null, trust.proto),
    host: trustedValue(environ.HTTP_X_FORWARDED_HOST ?? null, trust.host),
    port: trustedValue(environ.HTTP_X_FORWARDED_PORT ?? null, trust.port),
    prefix: trustedValue(environ.HTTP_X_FORWARDED_PREFIX ?? null, trust.prefix),
  };
  const forwarded = environ.HTTP_FORWARDED || null;
  if (forwarded && trust.forwarded) {
    const elements = parseForwarded(forwarded);
    const element = elements.length >= trust.forwarded ? elements[elements.length - trust.forwarded] : undefined;
    if (element?.for) fixed.remoteAddr = nodeAddress(element.for);
    if (element?.proto) fixed.proto = element.proto;
    if (element?.host) fixed.host = element.host;
  }
  return fixed;
}

/**
 * The host (and port) as a URL would hold it after `url.host = value`, or
 * undefined when it is not a host. A value that differs from that only in
 * letter case is kept as sent: the app sees the Host header as the client
 * wrote it, as in the modes without a proxy (docs/http-policy.md, "Host").
 */
function parseHost(value: string): string | undefined {
  const probe = new URL('http://placeholder.invalid/');
  probe.host = value;
  if (probe.host === 'placeholder.invalid') return undefined;
  return probe.host === value.toLowerCase() ? value : probe.host;
}

/**
 * validHost's answers for the hosts seen lately. Behind our own proxy the
 * forwarded host is the same few values on every request, and parsing one
 * with the URL parser was the largest part of this middleware's cost
 * (docs/performance.md). Bounded, so that invented hosts cannot grow it.
 */
const hostCache = new Map<string, string | null>();
const HOST_CACHE_SIZE = 256;

function validHost(value: string): string | undefined {
  const cached = hostCache.get(value);
  if (cached !== undefined) return cached ?? undefined;
  const host = parseHost(value);
  if (hostCache.size >= HOST_CACHE_SIZE) hostCache.clear();
  hostCache.set(value, host ?? null);
  return host;
}

export function proxyFix(app: TsgiApp, trust: ProxyFixTrust = {}): TsgiApp {
  return (request, ctx) => {
    const fixed = resolve(ctx.environ, trust);
    if (fixed.remoteAddr === undefined && fixed.proto === undefined && fixed.host === undefined
      && fixed.port === undefined && fixed.prefix === undefined) return app(request, ctx);

    const environ: Record<string, string> = { ...ctx.environ };
    const keep = (name: string) => { environ[`tsgi.proxy_fix.orig.${name}`] = ctx.environ[name] ?? ''; };
    let { scriptName, pathInfo, remoteAddr } = ctx;

    if (fixed.remoteAddr) { keep('REMOTE_ADDR'); environ.REMOTE_ADDR = remoteAddr = fixed.remoteAddr; }
    if (fixed.proto && /^https?$/i.test(fixed.proto)) {
      keep('HTTPS');
      environ.HTTPS = fixed.proto.toLowerCase() === 'https' ? 'on' : 'off';
    }
    if (fixed.host) {
      keep('HTTP_HOST');
      const host = validHost(fixed.host);
      if (host !== undefined) environ.HTTP_HOST = host;
    }
    if (fixed.port && /^\d{1,5}$/.test(fixed.port)) {
      keep('SERVER_PORT');
      environ.SERVER_PORT = fixed.port;
      // The Host header's own port gives way to the forwarded one (a scheme's default port is left out).
      const url = new URL(`${isHttps(environ) ? 'https' : 'http'}://placeholder.invalid/`);
      url.host = environ.HTTP_HOST || environ.SERVER_NAME || 'localhost';
      url.port = fixed.port;
      environ.HTTP_HOST = url.host;
    }
    if (fixed.prefix) {
      const prefix = `/${fixed.prefix.replace(/^\/+|\/+$/g, '')}`.replace(/^\/$/, '');
      keep('SCRIPT_NAME');
      keep('PATH_INFO');
      // Our nginx passes the full raw URI (so REQUEST_URI stays as the client sent it): the prefix is still in PATH_INFO.
      pathInfo = afterSegmentPrefix(pathInfo, prefix) ?? pathInfo;
      scriptName = prefix + scriptName;
      environ.SCRIPT_NAME = scriptName;
      environ.PATH_INFO = pathInfo;
    }

    // The translator derives url, scheme and host from the fixed variables, as
    // it would for a request that came this way; a Request it did not make is copied.
    return app(requestWithVariables(request, environ), deriveContext(ctx, { scriptName, pathInfo, remoteAddr, environ }));
  };
}
