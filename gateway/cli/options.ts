/**
 * The tsgi command line, gunicorn-style, plus an optional config file of
 * `name = value` lines with the same names as the long options. Every error
 * says where it is: the flag, or the file and line.
 */
import { readFileSync } from 'node:fs';
import { parseBind, type Bind } from '../bind.ts';
import { parseProxyTrust, type ProxyFixTrust } from '../middleware/proxy-fix.ts';

export type Transport = 'cgi' | 'fastcgi' | 'http';

export interface CliOptions {
  transport: Transport;
  appModule: string;
  bind?: Bind;
  socketMode?: number;
  workers?: number;
  maxRequests?: number;
  maxRequestsJitter?: number;
  timeout?: number;
  gracefulTimeout?: number;
  bodyLimit?: number;
  trustProxy?: ProxyFixTrust;
  maxConns?: number;
  maxReqs?: number;
  hideMount?: boolean;
}

export const USAGE = `Usage: tsgi <cgi|fastcgi|http> <app-module[:export]> [options]

Serve a TSGI app ((request, ctx) => Response, the module's default export).

Transports:
  cgi        one request from the CGI environment and stdin (RFC 3875)
  fastcgi    a FastCGI responder; with no --bind, on the listening socket at
             fd 0 (mod_fcgid, lighttpd bin-path, spawn-fcgi, supervisord),
             or one CGI request when fd 0 is not a socket (like flup)
  http       an HTTP/1.1 server; with --workers > 0, a pre-fork master

Options:
  --bind ADDR               unix:PATH | HOST:PORT | fd:N   (http default 127.0.0.1:8000)
  --socket-mode MODE        octal permissions of a unix socket we create (default 660)
  --workers N               http: worker processes (default: CPU cores; 0 = no master)
  --max-requests N          http: retire a worker after N requests (0 = never)
  --max-requests-jitter N   http: add 0..N to max-requests per worker, so they don't all restart at once
  --timeout SEC             the app must answer within SEC (else 504); http: silent workers are killed
  --graceful-timeout SEC    time to finish in-flight requests on stop or reload (default 30)
  --body-limit BYTES        largest request body (default 2097152); larger gets 413
  --trust-proxy SPEC        trusted proxy hops per header, e.g. for=1,proto=1,host=1,prefix=1
                            (also port, forwarded); nothing is trusted by default
  --max-conns N             fastcgi: concurrent connections (FCGI_MAX_CONNS)
  --max-reqs N              fastcgi: concurrent requests (FCGI_MAX_REQS)
  --hide-mount[=BOOL]       give the app its URL without the mount (SCRIPT_NAME) and map
                            Location, Content-Location and cookie Path back into it, for
                            Fetch routers (Hono & co.) below a mount; ctx.scriptName keeps it
  --config FILE             read "name = value" lines (long option names) from FILE
  -h, --help                show this help
`;

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

type Setter = (options: CliOptions, value: string) => void;

function integer(name: string, min = 0): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value) || Number(value) < min) throw new UsageError(`${name} must be a whole number >= ${min}, got "${value}"`);
    return Number(value);
  };
}

function seconds(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value === '' || !Number.isFinite(n) || n <= 0) throw new UsageError(`${name} must be a positive number of seconds, got "${value}"`);
    return n;
  };
}

/** true/false, on/off, yes/no, 1/0 (any case). */
export function parseBoolean(name: string, value: string): boolean {
  const v = value.trim().toLowerCase();
  if (['true', 'on', 'yes', '1'].includes(v)) return true;
  if (['false', 'off', 'no', '0'].includes(v)) return false;
  throw new UsageError(`${name} must be true or false (on/off, yes/no, 1/0), got "${value}"`);
}

/** Settings that are switches: on the command line `--name` alone means true. */
const SWITCHES = new Set(['hide-mount']);

const SETTINGS: Record<string, Setter> = {
  bind: (o, v) => { o.bind = parseBind(v); },
  'socket-mode': (o, v) => {
    if (!/^[0-7]{3,4}$/.test(v)) throw new UsageError(`socket-mode must be octal like 660, got "${v}"`);
    o.socketMode = parseInt(v, 8);
  },
  workers: (o, v) => { o.workers = integer('workers')(v); },
  'max-requests': (o, v) => { o.maxRequests = integer('max-requests')(v); },
  'max-requests-jitter': (o, v) => { o.maxRequestsJitter = integer('max-requests-jitter')(v); },
  timeout: (o, v) => { o.timeout = seconds('timeout')(v); },
  'graceful-timeout': (o, v) => { o.gracefulTimeout = seconds('graceful-timeout')(v); },
  'body-limit': (o, v) => { o.bodyLimit = integer('body-limit', 1)(v); },
  'trust-proxy': (o, v) => {
    try { o.trustProxy = parseProxyTrust(v); } catch (error) { throw new UsageError((error as Error).message.replace(/^--trust-proxy: /, 'trust-proxy: ')); }
  },
  'max-conns': (o, v) => { o.maxConns = integer('max-conns', 1)(v); },
  'max-reqs': (o, v) => { o.maxReqs = integer('max-reqs', 1)(v); },
  'hide-mount': (o, v) => { o.hideMount = parseBoolean('hide-mount', v); },
};

function apply(options: CliOptions, name: string, value: string, where: string): void {
  const set = SETTINGS[name];
  if (!set) throw new UsageError(`${where}: unknown setting "${name}"`);
  try {
    set(options, value);
  } catch (error) {
    throw new UsageError(`${where}: ${(error as Error).message}`);
  }
}

/** `name = value` lines; "#" starts a comment; errors name FILE:LINE. */
export function applyConfigFile(options: CliOptions, file: string, text = readFileSync(file, 'utf8')): void {
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (!line) return;
    const where = `${file}:${index + 1}`;
    const match = /^([a-z][a-z-]*)\s*=\s*(.*)$/.exec(line);
    if (!match) throw new UsageError(`${where}: expected "name = value", got "${raw.trim()}"`);
    apply(options, match[1]!, match[2]!.replace(/^"(.*)"$/, '$1'), where);
  });
}

export type ParseResult = { help: true } | { help: false; options: CliOptions };

export function parseArgs(argv: readonly string[]): ParseResult {
  if (argv.length === 0 || argv.includes('-h') || argv.includes('--help')) return { help: true };
  const [transport, appModule, ...rest] = argv;
  if (transport !== 'cgi' && transport !== 'fastcgi' && transport !== 'http') {
    throw new UsageError(`unknown transport "${transport}" (expected cgi, fastcgi or http)`);
  }
  if (!appModule || appModule.startsWith('--')) throw new UsageError('missing the app module, e.g. app/app.ts');
  const options: CliOptions = { transport, appModule };
  const flags: Array<[string, string]> = [];
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    const value = eq !== -1 ? arg.slice(eq + 1) : SWITCHES.has(name) ? 'true' : rest[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    flags.push([name, value]);
  }
  // The config file first, so flags on the command line override it.
  for (const [name, value] of flags) if (name === 'config') applyConfigFile(options, value);
  for (const [name, value] of flags) if (name !== 'config') apply(options, name, value, `--${name}`);
  return { help: false, options };
}
