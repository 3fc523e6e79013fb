/**
 * A CGI request is a fresh Node process, so what it loads is what it costs.
 * Loading undici (Node's Request, Response, Headers) takes ~45 ms on the 2-core
 * machine, more than starting Node; yourapplication's plain routes need none of
 * it (TSGI's lazy Request and Response, gateway/status-codes.ts, gateway/builtins.ts).
 * This guards that: the real CGI entry, in a real child process, reports
 * whether undici was loaded. A route that does need undici's objects still works.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCgiScript } from '../fixtures/run-cgi.ts';

const entry = fileURLToPath(new URL('../../app/yourapplication.cgi.ts', import.meta.url));
const report = fileURLToPath(new URL('../fixtures/report-undici-loaded.mjs', import.meta.url));

function request(pathInfo: string, extra: Record<string, string> = {}, stdin = '') {
  return runCgiScript(['--import', report, entry], { REQUEST_METHOD: 'GET', SCRIPT_NAME: '', PATH_INFO: pathInfo, ...extra }, stdin);
}

describe('a CGI request loads only what it uses', () => {
  it.each(['/hello', '/', '/whoami', '/status/404', '/nothing-here'])('GET %s answers without loading undici', async (path) => {
    const result = await request(path);
    expect(result.exitCode).toBe(0);
    expect(result.status).toBeGreaterThanOrEqual(200);
    expect(result.stderr).toContain('undici loaded: false');
  });

  it('a route that reads the request headers loads it, and answers the same', async () => {
    const result = await request('/echo', { HTTP_X_PROBE: 'one' });
    expect(result.status).toBe(200);
    expect(JSON.parse(result.body.toString()).headers['x-probe']).toBe('one');
    expect(result.stderr).toContain('undici loaded: true');
  });
});
