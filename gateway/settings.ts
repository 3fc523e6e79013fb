/**
 * Every setting of the gateway, once: its name (the long option and the
 * config-file key), how its text is parsed, its default, its help, and how it
 * reaches each transport that uses it. The command line, the config file,
 * `tsgi --help`, docs/settings.md and the options each transport (and so each
 * pre-fork worker) gets are all built from this table; a setting is added by
 * adding a row.
 *
 * The values are in the units people write (seconds, octal modes); each row's
 * `to` converts them for the transport (milliseconds, numbers).
 */
import { parseBind, formatBind, type Bind } from './bind.ts';
import { DEFAULT_BODY_LIMIT } from './environ.ts';
import { DEFAULT_MAX_CONNS, DEFAULT_MAX_REQS } from './fastcgi/connection.ts';
import { DEFAULT_APP_TIMEOUT_MS } from './handler.ts';
import type { MiddlewareOptions } from './middleware/options.ts';
import { parseProxyTrust, type ProxyFixTrust } from './middleware/proxy-fix.ts';
import type { CgiOptions } from './cgi.ts';
import type { FastCgiOptions } from './fastcgi/server.ts';
import type { ServeHttpOptions } from './http/server.ts';
import type { PreforkOptions } from './http/prefork.ts';

/** The defaults the transports fall back on when used as a library, equal to the table's. */
export const DEFAULT_SOCKET_MODE = 0o660;
export const DEFAULT_GRACEFUL_TIMEOUT_MS = 30_000;

/** The CLI's transports. */
export type Transport = 'cgi' | 'fastcgi' | 'http';
/** Where a setting can apply: http is split in one process (--workers 0) and the pre-fork master. */
export type Scope = 'cgi' | 'fastcgi' | 'http' | 'prefork';

/**
 * What each scope's server is started with. `trustProxy` and `hideMount` are
 * middleware (../middleware/options.ts): the CLI wraps the app in them for the
 * scopes that don't do it themselves (the pre-fork workers do).
 */
export interface ScopeOptions {
  cgi: CgiOptions & MiddlewareOptions;
  fastcgi: FastCgiOptions & MiddlewareOptions & { bind?: Bind };
  http: ServeHttpOptions & MiddlewareOptions & { bind?: Bind; gracefulTimeoutMs?: number };
  prefork: Omit<PreforkOptions, 'appModule' | 'bind'> & { bind?: Bind };
}

/** A setting's text is wrong: the message says what was expected (the caller adds the flag or file:line). */
export class SettingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettingError';
  }
}

export interface DefaultContext {
  transport: Transport;
  /** os.availableParallelism(), passed in so that parsing stays pure. */
  cores: number;
}

export interface Setting<K extends string, T> {
  /** The property in Settings. */
  readonly key: K;
  /** --flag, and the name in a config file. */
  readonly flag: string;
  /** The placeholder in --help. */
  readonly metavar: string;
  readonly help: string;
  readonly parse: (text: string) => T;
  /** A switch: the value of the flag given alone (`--hide-mount`); in a config file it always takes a value. */
  readonly alone?: T;
  /** The value when none is given: fixed, per transport, or none (the feature is off). */
  readonly default?: T | ((context: DefaultContext) => T | undefined);
  /** How --help and the docs write the default. */
  readonly defaultText: string;
  /** How the value reaches each scope that uses it; the scopes listed here are where it applies. */
  readonly to: { readonly [S in Scope]?: (options: ScopeOptions[S], value: T) => void };
}

function setting<const K extends string, T>(definition: Setting<K, T>): Setting<K, T> {
  return definition;
}

function wholeNumber(min: number): (text: string) => number {
  return (text) => {
    if (!/^\d+$/.test(text) || Number(text) < min) throw new SettingError(`must be a whole number >= ${min}, got "${text}"`);
    return Number(text);
  };
}

function positiveSeconds(text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n <= 0) throw new SettingError(`must be a positive number of seconds, got "${text}"`);
  return n;
}

/** true/false, on/off, yes/no, 1/0 (any case). */
export function parseBoolean(text: string): boolean {
  const v = text.trim().toLowerCase();
  if (['true', 'on', 'yes', '1'].includes(v)) return true;
  if (['false', 'off', 'no', '0'].includes(v)) return false;
  throw new SettingError(`must be true or false (on/off, yes/no, 1/0), got "${text}"`);
}

function octalMode(text: string): number {
  if (!/^[0-7]{3,4}$/.test(text)) throw new SettingError(`must be octal like 660, got "${text}"`);
  return parseInt(text, 8);
}

function bind(text: string): Bind {
  try {
    return parseBind(text);
  } catch (error) {
    throw new SettingError((error as Error).message);
  }
}

function proxyTrust(text: string): ProxyFixTrust {
  try {
    return parseProxyTrust(text);
  } catch (error) {
    throw new SettingError((error as Error).message.replace(/^--trust-proxy: /, 'trust-proxy: '));
  }
}

const DEFAULT_HTTP_BIND: Bind = { kind: 'tcp', host: '127.0.0.1', port: 8000 };

export const SETTINGS = [
  setting({
    key: 'bind',
    flag: 'bind',
    metavar: 'ADDR',
    help: 'where to listen: unix:PATH | HOST:PORT | fd:N',
    parse: bind,
    default: ({ transport }) => (transport === 'http' ? DEFAULT_HTTP_BIND : undefined),
    defaultText: `http ${formatBind(DEFAULT_HTTP_BIND)}; fastcgi the listening socket on fd 0, or one CGI request`,
    to: {
      fastcgi: (o, v) => { o.bind = v; },
      http: (o, v) => { o.bind = v; },
      prefork: (o, v) => { o.bind = v; },
    },
  }),
  setting({
    key: 'socketMode',
    flag: 'socket-mode',
    metavar: 'MODE',
    help: 'octal permissions of a unix socket we create (the web server\'s group connects)',
    parse: octalMode,
    default: DEFAULT_SOCKET_MODE,
    defaultText: DEFAULT_SOCKET_MODE.toString(8),
    to: {
      fastcgi: (o, v) => { o.socketMode = v; },
      http: (o, v) => { o.socketMode = v; },
      prefork: (o, v) => { o.socketMode = v; },
    },
  }),
  setting({
    key: 'workers',
    flag: 'workers',
    metavar: 'N',
    help: 'worker processes of the pre-fork master; 0: one process, no master',
    parse: wholeNumber(0),
    default: ({ cores }) => cores,
    defaultText: 'the CPU cores',
    to: {
      // 0 is what makes http one process: nothing to pass on.
      http: () => {},
      prefork: (o, v) => { o.workers = v; },
    },
  }),
  setting({
    key: 'maxRequests',
    flag: 'max-requests',
    metavar: 'N',
    help: 'retire a worker after N requests (0: never)',
    parse: wholeNumber(0),
    default: 0,
    defaultText: '0',
    to: { prefork: (o, v) => { o.maxRequests = v; } },
  }),
  setting({
    key: 'maxRequestsJitter',
    flag: 'max-requests-jitter',
    metavar: 'N',
    help: 'add 0..N to max-requests per worker, so they do not all restart at once',
    parse: wholeNumber(0),
    default: 0,
    defaultText: '0',
    to: { prefork: (o, v) => { o.maxRequestsJitter = v; } },
  }),
  setting({
    key: 'timeout',
    flag: 'timeout',
    metavar: 'SEC',
    help: 'the app must answer within SEC, else 504; pre-fork: a worker silent that long is killed',
    parse: positiveSeconds,
    default: DEFAULT_APP_TIMEOUT_MS / 1000,
    defaultText: String(DEFAULT_APP_TIMEOUT_MS / 1000),
    to: {
      cgi: (o, v) => { o.appTimeoutMs = v * 1000; },
      fastcgi: (o, v) => { o.appTimeoutMs = v * 1000; },
      http: (o, v) => { o.appTimeoutMs = v * 1000; },
      prefork: (o, v) => { o.appTimeoutMs = v * 1000; o.timeout = v; },
    },
  }),
  setting({
    key: 'gracefulTimeout',
    flag: 'graceful-timeout',
    metavar: 'SEC',
    help: 'on stop or reload, time for requests in flight to finish; then they are dropped',
    parse: positiveSeconds,
    default: DEFAULT_GRACEFUL_TIMEOUT_MS / 1000,
    defaultText: String(DEFAULT_GRACEFUL_TIMEOUT_MS / 1000),
    to: {
      fastcgi: (o, v) => { o.gracefulTimeoutMs = v * 1000; },
      http: (o, v) => { o.gracefulTimeoutMs = v * 1000; },
      prefork: (o, v) => { o.gracefulTimeout = v; },
    },
  }),
  setting({
    key: 'bodyLimit',
    flag: 'body-limit',
    metavar: 'BYTES',
    help: 'largest request body; a larger one gets 413',
    parse: wholeNumber(1),
    default: DEFAULT_BODY_LIMIT,
    defaultText: String(DEFAULT_BODY_LIMIT),
    to: {
      cgi: (o, v) => { o.bodyLimit = v; },
      fastcgi: (o, v) => { o.bodyLimit = v; },
      http: (o, v) => { o.bodyLimit = v; },
      prefork: (o, v) => { o.bodyLimit = v; },
    },
  }),
  setting({
    key: 'trustProxy',
    flag: 'trust-proxy',
    metavar: 'SPEC',
    help: 'trusted proxy hops per header: for, proto, host, port, prefix, forwarded (e.g. for=1,proto=1)',
    parse: proxyTrust,
    defaultText: 'nothing is trusted',
    to: {
      cgi: (o, v) => { o.trustProxy = v; },
      fastcgi: (o, v) => { o.trustProxy = v; },
      http: (o, v) => { o.trustProxy = v; },
      prefork: (o, v) => { o.trustProxy = v; },
    },
  }),
  setting({
    key: 'hideMount',
    flag: 'hide-mount',
    metavar: 'BOOL',
    help: 'give the app its URL without the mount (SCRIPT_NAME) and map Location, Content-Location and cookie Path back into it, for Fetch routers (Hono & co.) below a mount; ctx.scriptName keeps it',
    parse: parseBoolean,
    alone: true,
    default: false,
    defaultText: 'false',
    to: {
      cgi: (o, v) => { o.hideMount = v; },
      fastcgi: (o, v) => { o.hideMount = v; },
      http: (o, v) => { o.hideMount = v; },
      prefork: (o, v) => { o.hideMount = v; },
    },
  }),
  setting({
    key: 'maxConns',
    flag: 'max-conns',
    metavar: 'N',
    help: 'concurrent connections (FCGI_MAX_CONNS); more are refused',
    parse: wholeNumber(1),
    default: DEFAULT_MAX_CONNS,
    defaultText: String(DEFAULT_MAX_CONNS),
    to: { fastcgi: (o, v) => { o.maxConns = v; } },
  }),
  setting({
    key: 'maxReqs',
    flag: 'max-reqs',
    metavar: 'N',
    help: 'concurrent requests (FCGI_MAX_REQS); more get FCGI_OVERLOADED',
    parse: wholeNumber(1),
    default: DEFAULT_MAX_REQS,
    defaultText: String(DEFAULT_MAX_REQS),
    to: { fastcgi: (o, v) => { o.maxReqs = v; } },
  }),
] as const;

/** A row whatever its value type (the table is heterogeneous; each row is type-checked where it is written). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnySetting = Setting<string, any>;
type ValueOf<S> = S extends Setting<string, infer T> ? T : never;

/** Every setting's value, keyed as in the table. */
export type Settings = { -readonly [S in (typeof SETTINGS)[number] as S['key']]: ValueOf<S> };
export type SettingKey = keyof Settings;

const rows = SETTINGS as readonly AnySetting[];

export function settingByFlag(flag: string): AnySetting | undefined {
  return rows.find((row) => row.flag === flag);
}

export function settingByKey(key: SettingKey): AnySetting {
  return rows.find((row) => row.key === key)!;
}

/** Which scope a transport runs in: http is the pre-fork master unless workers is 0. */
export function scopeOf(transport: Transport, workers: number): Scope {
  return transport === 'http' && workers > 0 ? 'prefork' : transport;
}

/** The scopes as people name them, for messages and docs. */
export const SCOPE_TEXT: Record<Scope, string> = {
  cgi: 'cgi',
  fastcgi: 'fastcgi',
  http: 'http --workers 0',
  prefork: 'http (pre-fork, --workers > 0)',
};

/** How the flag is written in --help and the docs: `--workers N`, or `--hide-mount[=BOOL]` for a switch. */
export function flagSynopsis(row: AnySetting): string {
  return row.alone === undefined ? `--${row.flag} ${row.metavar}` : `--${row.flag}[=${row.metavar}]`;
}

export function scopesOf(row: AnySetting): Scope[] {
  return Object.keys(row.to) as Scope[];
}

/** "cgi, fastcgi, http": the transports a setting applies to, http once when both of its scopes use it. */
export function scopeList(row: AnySetting): string {
  const scopes = scopesOf(row);
  const both = scopes.includes('http') && scopes.includes('prefork');
  return scopes.filter((scope) => !(both && scope === 'prefork')).map((scope) => (both && scope === 'http' ? 'http' : SCOPE_TEXT[scope])).join(', ');
}

/** The given values plus every default, for one transport. */
export function resolveSettings(given: Partial<Settings>, context: DefaultContext): Partial<Settings> {
  const resolved: Record<string, unknown> = {};
  for (const row of rows) {
    const value = (given as Record<string, unknown>)[row.key];
    if (value !== undefined) resolved[row.key] = value;
    else if (typeof row.default === 'function') resolved[row.key] = (row.default as (c: DefaultContext) => unknown)(context);
    else resolved[row.key] = row.default;
  }
  return resolved as Partial<Settings>;
}

/** The options one scope's server starts with, each row putting its value where that transport reads it. */
export function optionsFor<S extends Scope>(scope: S, settings: Partial<Settings>): ScopeOptions[S] {
  const options = {} as ScopeOptions[S];
  for (const row of rows) {
    const value = (settings as Record<string, unknown>)[row.key];
    const apply = row.to[scope] as ((o: ScopeOptions[S], v: unknown) => void) | undefined;
    if (value !== undefined && apply) apply(options, value);
  }
  return options;
}
