import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { applyConfigFile, parseArgs, UsageError, type CliOptions } from '../../gateway/cli/options.ts';
import { AppLoadError, loadApp } from '../../gateway/load-app.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tsgi = (...args: string[]) => spawnSync(process.execPath, [join(root, 'gateway/bin/tsgi.ts'), ...args], { encoding: 'utf8', cwd: root });

describe('tsgi command line', () => {
  it('parses gunicorn-style flags', () => {
    const parsed = parseArgs(['http', 'app/app.ts', '--bind', 'unix:/run/a.sock', '--workers=3', '--max-requests', '100',
      '--max-requests-jitter', '10', '--timeout', '2.5', '--trust-proxy', 'for=1,prefix=1', '--socket-mode', '660']);
    expect(parsed).toEqual({
      help: false,
      options: {
        transport: 'http', appModule: 'app/app.ts', bind: { kind: 'unix', path: '/run/a.sock' }, workers: 3, maxRequests: 100,
        maxRequestsJitter: 10, timeout: 2.5, trustProxy: { for: 1, prefix: 1 }, socketMode: 0o660,
      },
    });
    expect(parseArgs(['fastcgi', 'app/app.ts', '--bind', '[::1]:9000']).help === false && parseArgs(['fastcgi', 'app/app.ts', '--bind', '[::1]:9000']))
      .toMatchObject({ options: { bind: { kind: 'tcp', host: '::1', port: 9000 } } });
  });

  it.each([
    [['ftp', 'app.ts'], /unknown transport "ftp"/],
    [['http'], /missing the app module/],
    [['http', 'app.ts', '--workers', '-1'], /--workers: workers must be a whole number/],
    [['http', 'app.ts', '--bind', 'nowhere'], /invalid bind "nowhere"/],
    [['http', 'app.ts', '--frobnicate', '1'], /--frobnicate: unknown setting/],
    [['http', 'app.ts', '--timeout'], /--timeout needs a value/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(message);
  });

  it('takes --hide-mount as a switch, with an explicit value, or from the config file', () => {
    const options = (argv: string[]) => { const parsed = parseArgs(argv); return parsed.help ? undefined : parsed.options; };
    expect(options(['cgi', 'app.ts', '--hide-mount'])).toMatchObject({ hideMount: true });
    expect(options(['cgi', 'app.ts', '--hide-mount', '--timeout', '3'])).toMatchObject({ hideMount: true, timeout: 3 });
    expect(options(['http', 'app.ts', '--hide-mount=false'])).toMatchObject({ hideMount: false });
    expect(options(['http', 'app.ts', '--hide-mount=ON'])).toMatchObject({ hideMount: true });
    expect(() => parseArgs(['http', 'app.ts', '--hide-mount=maybe'])).toThrow('--hide-mount: hide-mount must be true or false (on/off, yes/no, 1/0), got "maybe"');
    const dir = mkdtempSync(join(tmpdir(), 'tsgi-cli-'));
    const file = join(dir, 'tsgi.conf');
    writeFileSync(file, 'hide-mount = yes\n');
    expect(options(['http', 'app.ts', '--config', file])).toMatchObject({ hideMount: true });
    writeFileSync(file, 'workers = 2\nhide-mount = sometimes\n');
    expect(() => parseArgs(['http', 'app.ts', '--config', file])).toThrow(`${file}:2: hide-mount must be true or false`);
    expect(tsgi('--help').stdout).toContain('--hide-mount');
  });

  it('names the file and line of a config error, and lets flags override the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsgi-cli-'));
    const file = join(dir, 'tsgi.conf');
    writeFileSync(file, '# pre-fork settings\nworkers = 4\nbind = 127.0.0.1:9000  # local only\n\nmax-requests = lots\n');
    expect(() => parseArgs(['http', 'app.ts', '--config', file])).toThrow(`${file}:5: max-requests must be a whole number >= 0, got "lots"`);
    writeFileSync(file, 'workers = 4\nthis line is wrong\n');
    expect(() => applyConfigFile({ transport: 'http', appModule: 'a' } as CliOptions, file)).toThrow(`${file}:2: expected "name = value"`);
    writeFileSync(file, 'workers = 4\ntimeout = 9\n');
    const parsed = parseArgs(['http', 'app.ts', '--config', file, '--workers', '1']);
    expect(parsed.help === false && parsed.options).toMatchObject({ workers: 1, timeout: 9 });
  });

  it('the bin prints --help and exits 2 with a clear message on bad usage', () => {
    const help = tsgi('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage: tsgi <cgi|fastcgi|http>');
    const bad = tsgi('http', 'app/app.ts', '--workers', 'many');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('tsgi: --workers: workers must be a whole number >= 0, got "many"');
  });

  it('a missing or wrong app module is a boot error naming it', async () => {
    await expect(loadApp(join(root, 'app/does-not-exist.ts'))).rejects.toThrow(AppLoadError);
    await expect(loadApp(join(root, 'app/json.ts'))).rejects.toThrow(/default export is not an app/);
    await expect(loadApp(`${join(root, 'app/json.ts')}:sortedJson`)).resolves.toBeTypeOf('function');
    const single = tsgi('http', 'app/does-not-exist.ts', '--workers', '0', '--bind', '127.0.0.1:0');
    expect(single.status).toBe(1);
    expect(single.stderr).toContain('cannot load the app "app/does-not-exist.ts"');
  });

  it('serves a Hono-style { fetch } export', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsgi-cli-'));
    const file = join(dir, 'hono-like.mjs');
    writeFileSync(file, 'export default { fetch: (request) => new Response("via fetch " + new URL(request.url).pathname) };\n');
    const app = await loadApp(file);
    const response = await app(new Request('http://h/x'), undefined as never);
    expect(await response.text()).toBe('via fetch /x');
  });

  it('UsageError is what the bin turns into exit code 2; any other error exits 1', () => {
    // Every refusal of the command line or config file is a UsageError (that class, not just an Error)...
    for (const argv of [['ftp', 'app.ts'], ['http'], ['http', 'app.ts', '--workers', '-1'], ['http', 'app.ts', '--frobnicate', '1']]) {
      expect(() => parseArgs(argv)).toThrow(UsageError);
    }
    expect(() => applyConfigFile({ transport: 'http', appModule: 'a' } as CliOptions, 'tsgi.conf', 'no equals sign\n')).toThrow(UsageError);
    // ...which the bin reports with a --help hint and exit status 2, as argparse-based servers (gunicorn) do.
    const usage = tsgi('http', 'app/app.ts', '--frobnicate', '1');
    expect(usage.status).toBe(2);
    expect(usage.stderr).toBe('tsgi: --frobnicate: unknown setting "frobnicate"\nTry "tsgi --help".\n');
    // An error that is not about usage (the config file cannot be read) exits 1, without the hint.
    const other = tsgi('http', 'app/app.ts', '--config', join(tmpdir(), 'tsgi-no-such-dir', 'tsgi.conf'));
    expect(other.status).toBe(1);
    expect(other.stderr).toBe(`tsgi: ENOENT: no such file or directory, open '${join(tmpdir(), 'tsgi-no-such-dir', 'tsgi.conf')}'\n`);
  });
});
