/**
 * The tsgi command line, gunicorn-style, plus an optional config file of
 * `name = value` lines with the same names as the long options. Both, and
 * the help text, come from the settings table (../settings.ts). Every error
 * says where it is: the flag, or the file and line.
 */
import { readFileSync } from 'node:fs';
import {
  flagSynopsis,
  scopeList,
  scopeOf,
  scopesOf,
  SCOPE_TEXT,
  settingByFlag,
  SETTINGS,
  SettingError,
  type Settings,
  type Transport,
} from '../settings.ts';

export type { Transport } from '../settings.ts';

export type CliOptions = { transport: Transport; appModule: string } & Partial<Settings>;

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const OPTION_COLUMN = 28;

function optionLine(head: string, ...lines: string[]): string {
  return `${`  ${head}`.padEnd(OPTION_COLUMN - 1)} ${lines.join(`\n${' '.repeat(OPTION_COLUMN)}`)}\n`;
}

function optionLines(): string {
  return SETTINGS.map((row) => optionLine(flagSynopsis(row), row.help, `default: ${row.defaultText}; for: ${scopeList(row)}`)).join('');
}

export const USAGE = `Usage: tsgi <cgi|fastcgi|http> <app-module[:export]> [options]

Serve a TSGI app ((request, ctx) => Response, the module's default export).

Transports:
  cgi        one request from the CGI environment and stdin (RFC 3875)
  fastcgi    a FastCGI responder; with no --bind, on the listening socket at
             fd 0 (mod_fcgid, lighttpd bin-path, spawn-fcgi, supervisord),
             or one CGI request when fd 0 is not a socket (like flup)
  http       an HTTP/1.1 server; with --workers > 0, a pre-fork master

Options (a setting given to a transport that does not use it is an error):
${optionLines()}${optionLine('--config FILE', 'read "name = value" lines (the option names) from FILE;', 'options on the command line override it')}${optionLine('-h, --help', 'show this help')}`;

/** Where each given setting came from ("--workers", "tsgi.conf:3"), for errors found after parsing. */
type Sources = Map<string, string>;

function apply(options: CliOptions, sources: Sources, name: string, text: string, where: string): void {
  const row = settingByFlag(name);
  if (!row) throw new UsageError(`${where}: unknown setting "${name}"`);
  try {
    (options as Record<string, unknown>)[row.key] = row.parse(text);
  } catch (error) {
    if (!(error instanceof SettingError)) throw error;
    // "must be ..." reads after the name; the bind and trust-proxy parsers' messages name what they parse.
    throw new UsageError(`${where}: ${error.message.startsWith('must ') ? `${name} ` : ''}${error.message}`);
  }
  sources.set(row.key, where);
}

/** `name = value` lines; "#" starts a comment; errors name FILE:LINE. */
export function applyConfigFile(options: CliOptions, file: string, text = readFileSync(file, 'utf8'), sources: Sources = new Map()): void {
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (!line) return;
    const where = `${file}:${index + 1}`;
    const match = /^([a-z][a-z-]*)\s*=\s*(.*)$/.exec(line);
    if (!match) throw new UsageError(`${where}: expected "name = value", got "${raw.trim()}"`);
    apply(options, sources, match[1]!, match[2]!.replace(/^"(.*)"$/, '$1'), where);
  });
}

/** A setting the chosen transport would silently ignore is refused, naming where it was given. */
function checkScopes(options: CliOptions, sources: Sources): void {
  const scope = scopeOf(options.transport, options.workers ?? 1);
  for (const [key, where] of sources) {
    const row = SETTINGS.find((candidate) => candidate.key === key)!;
    if (scopesOf(row).includes(scope)) continue;
    throw new UsageError(`${where}: ${row.flag} does not apply to tsgi ${SCOPE_TEXT[scope]} (only to ${scopeList(row)})`);
  }
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
  const sources: Sources = new Map();
  const flags: Array<[string, string]> = [];
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    // A switch given alone (no "=", and no value after it) takes its `alone` value.
    const alone = settingByFlag(name)?.alone;
    const next = rest[i + 1];
    const value = eq !== -1 ? arg.slice(eq + 1) : alone !== undefined && (next === undefined || next.startsWith('--')) ? String(alone) : rest[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    flags.push([name, value]);
  }
  // The config file first, so flags on the command line override it.
  for (const [name, value] of flags) if (name === 'config') applyConfigFile(options, value, undefined, sources);
  for (const [name, value] of flags) if (name !== 'config') apply(options, sources, name, value, `--${name}`);
  checkScopes(options, sources);
  return { help: false, options };
}
