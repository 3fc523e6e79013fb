// The parser built from the settings table: its refusals, each naming the flag or the file and line.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { settingsMarkdown } from '../../gateway/cli/settings-doc.ts';
import { parseArgs, USAGE } from '../../gateway/cli/options.ts';
import { SETTINGS } from '../../gateway/settings.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tsgi-parser-'));
const tsgi = (...args: string[]) => spawnSync(process.execPath, [join(root, 'gateway/bin/tsgi.ts'), ...args], { encoding: 'utf8', cwd: root });

function configFile(text: string): string {
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.conf`);
  writeFileSync(file, text);
  return file;
}

describe('settings parser', () => {
  it.each([
    [['http', 'a.ts', '--socket-mode', '999'], '--socket-mode: socket-mode must be octal like 660, got "999"'],
    [['http', 'a.ts', '--timeout', '0'], '--timeout: timeout must be a positive number of seconds, got "0"'],
    [['http', 'a.ts', '--graceful-timeout', 'soon'], '--graceful-timeout: graceful-timeout must be a positive number of seconds, got "soon"'],
    [['http', 'a.ts', '--body-limit', '0'], '--body-limit: body-limit must be a whole number >= 1, got "0"'],
    [['fastcgi', 'a.ts', '--max-conns', '1.5'], '--max-conns: max-conns must be a whole number >= 1, got "1.5"'],
    [['http', 'a.ts', '--bind', 'unix:'], '--bind: invalid bind "unix:": empty socket path (expected unix:PATH, HOST:PORT or fd:N)'],
    [['http', 'a.ts', '--trust-proxy', 'via=1'], '--trust-proxy: trust-proxy: unknown header "via" (expected for, proto, host, port, prefix, forwarded)'],
  ])('refuses %j: %s', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(message);
  });

  it('refuses a setting the transport would ignore, naming where it was given', () => {
    expect(() => parseArgs(['fastcgi', 'a.ts', '--workers', '2'])).toThrow('--workers: workers does not apply to tsgi fastcgi (only to http)');
    expect(() => parseArgs(['http', 'a.ts', '--max-conns', '5'])).toThrow('--max-conns: max-conns does not apply to tsgi http (pre-fork, --workers > 0) (only to fastcgi)');
    expect(() => parseArgs(['http', 'a.ts', '--workers', '0', '--max-requests', '5']))
      .toThrow('--max-requests: max-requests does not apply to tsgi http --workers 0 (only to http (pre-fork, --workers > 0))');
    expect(() => parseArgs(['cgi', 'a.ts', '--graceful-timeout', '5'])).toThrow('--graceful-timeout: graceful-timeout does not apply to tsgi cgi (only to fastcgi, http)');
    const file = configFile('timeout = 5\n\nmax-reqs = 4\n');
    expect(() => parseArgs(['http', 'a.ts', '--config', file])).toThrow(`${file}:3: max-reqs does not apply to tsgi http (pre-fork, --workers > 0) (only to fastcgi)`);
  });

  it('names the file and line of every config error', () => {
    const unknown = configFile('# tsgi\nworkers = 2\nfrobnicate = yes\n');
    expect(() => parseArgs(['http', 'a.ts', '--config', unknown])).toThrow(`${unknown}:3: unknown setting "frobnicate"`);
    const badValue = configFile('\n\n\n\nsocket-mode = rw-rw----\n');
    expect(() => parseArgs(['http', 'a.ts', '--config', badValue])).toThrow(`${badValue}:5: socket-mode must be octal like 660, got "rw-rw----"`);
    const noEquals = configFile('workers 2\n');
    expect(() => parseArgs(['http', 'a.ts', '--config', noEquals])).toThrow(`${noEquals}:1: expected "name = value", got "workers 2"`);
  });

  it('the bin exits 2 on a config error, with the file and line on stderr', () => {
    const file = configFile('body-limit = big\n');
    const result = tsgi('fastcgi', 'app/app.ts', '--config', file);
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(`tsgi: ${file}:1: body-limit must be a whole number >= 1, got "big"\nTry "tsgi --help".\n`);
  });

  it('--help states the defaults that are applied', () => {
    // The drift issue 9 found: help said 660, nothing applied it (settings.test.ts checks the socket).
    expect(USAGE).toMatch(/--socket-mode MODE +octal permissions.*\n +default: 660; for: fastcgi, http\n/);
    expect(USAGE).toMatch(/--graceful-timeout SEC .*\n +default: 30; for: fastcgi, http\n/);
    for (const row of SETTINGS) expect(USAGE).toContain(row.alone === undefined ? `--${row.flag} ${row.metavar}` : `--${row.flag}[=${row.metavar}]`);
  });

  it('docs/settings.md is the table as generated (make docs-settings)', () => {
    expect(readFileSync(join(root, 'docs/settings.md'), 'utf8')).toBe(settingsMarkdown());
  });
});
