import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { withHeaderOctets } from '../../gateway/cgi.ts';
import { runCgiScript } from '../fixtures/run-cgi.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const appEntry = `${root}app/yourapplication.cgi.ts`;
const cgiEntry = `${root}tests/fixtures/cgi-entry.ts`;
const misbehaving = `${root}tests/fixtures/misbehaving-app.ts`;
const fetchOnly = `${root}tests/fixtures/fetch-only-app.ts`;
const stdoutKeeping = `${root}tests/fixtures/stdout-keeping-app.ts`;

describe('CGI transport, as a real child process', () => {
  it('serves /hello at the root with a Status line and exact body', async () => {
    const r = await runCgiScript([appEntry], { REQUEST_METHOD: 'GET', SCRIPT_NAME: '', PATH_INFO: '/hello', REQUEST_URI: '/hello', HTTP_HOST: 'h' });
    expect(r.stdout.toString().startsWith('Status: 200 OK\r\n')).toBe(true);
    expect(r.body.toString()).toBe('Hello, World!\n');
    expect(r.headers).toContainEqual(['content-length', '14']);
    expect(r.exitCode).toBe(0);
  });

  it('serves /echo under /yourapplication with the POST body read from stdin', async () => {
    const body = 'a=1&b=%C3%A9';
    const r = await runCgiScript([appEntry], {
      REQUEST_METHOD: 'POST', SCRIPT_NAME: '/yourapplication', PATH_INFO: '/echo/x', REQUEST_URI: '/yourapplication/echo/x?k=v&k=w',
      QUERY_STRING: 'k=v&k=w', HTTP_HOST: 'example.test', CONTENT_TYPE: 'application/x-www-form-urlencoded', CONTENT_LENGTH: String(body.length),
      REMOTE_ADDR: '192.0.2.1',
    }, body);
    expect(r.status).toBe(200);
    const echo = JSON.parse(r.body.toString());
    expect(echo).toMatchObject({
      method: 'POST', scriptName: '/yourapplication', pathInfo: '/echo/x', rawPath: '/yourapplication/echo/x', query: 'k=v&k=w',
      args: { k: ['v', 'w'] }, url: 'http://example.test/yourapplication/echo/x?k=v&k=w', scheme: 'http', remoteAddr: '192.0.2.1',
      body: { length: body.length, sha256: createHash('sha256').update(body).digest('hex') },
    });
    expect(echo.headers['content-type']).toBe('application/x-www-form-urlencoded');
  });

  it('never writes Transfer-Encoding or Connection, even for a streamed body', async () => {
    const r = await runCgiScript([appEntry], { REQUEST_METHOD: 'GET', PATH_INFO: '/stream', QUERY_STRING: 'chunks=3' });
    expect(r.status).toBe(200);
    expect(r.headers.map(([n]) => n)).not.toContain('transfer-encoding');
    expect(r.headers.map(([n]) => n)).not.toContain('connection');
    expect(r.body.toString()).toBe('chunk 1 of 3\nchunk 2 of 3\nchunk 3 of 3\n');
  });

  it('HEAD gives the same head and no body', async () => {
    const r = await runCgiScript([appEntry], { REQUEST_METHOD: 'HEAD', PATH_INFO: '/hello' });
    expect(r.status).toBe(200);
    expect(r.headers).toContainEqual(['content-length', '14']);
    expect(r.body.length).toBe(0);
  });

  it('a stray console.log goes to stderr and cannot corrupt the response', async () => {
    const r = await runCgiScript([cgiEntry, misbehaving], { REQUEST_METHOD: 'GET', PATH_INFO: '/print' });
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('clean body\n');
    expect(r.stdout.toString()).not.toContain('stray');
    expect(r.stderr).toContain('Status: 666 Injected');
    expect(r.stderr).toContain('more stray output');
  });

  it('an app that keeps process.stdout from its import on still writes to stderr (the entry script and tsgi cgi)', async () => {
    const runs = [
      await runCgiScript([appEntry], { REQUEST_METHOD: 'GET', PATH_INFO: '/', APP_MODULE: stdoutKeeping }),
      await runCgiScript([`${root}gateway/bin/tsgi.ts`, 'cgi', stdoutKeeping], { REQUEST_METHOD: 'GET', PATH_INFO: '/' }),
    ];
    for (const r of runs) {
      expect(r.status).toBe(200);
      expect(r.body.toString()).toBe('clean body\n');
      expect(r.stdout.toString()).not.toContain('kept-stdout');
      expect(r.stderr).toContain('kept-stdout output');
    }
  });

  it('a throwing handler gives the fixed 500 and its stack on stderr', async () => {
    const r = await runCgiScript([cgiEntry, misbehaving], { REQUEST_METHOD: 'GET', PATH_INFO: '/throw' });
    expect(r.status).toBe(500);
    expect(r.body.toString()).toBe('500 Internal Server Error\n');
    expect(r.stderr).toContain('boom from the fixture');
    expect(r.stderr).toMatch(/at .*misbehaving-app\.ts/);
  });

  it('a header value with CR/LF is refused with a 500 and never written', async () => {
    const r = await runCgiScript([cgiEntry, misbehaving], { REQUEST_METHOD: 'GET', PATH_INFO: '/header-injection', QUERY_STRING: 'v=a%0D%0ASet-Cookie:%20x=1' });
    expect(r.status).toBe(500);
    expect(r.stdout.toString()).not.toMatch(/set-cookie/i);
    expect(r.stdout.toString()).not.toContain('never sent');
  });

  it('an app that returns something other than a Response gives a 500', async () => {
    const r = await runCgiScript([cgiEntry, misbehaving], { REQUEST_METHOD: 'GET', PATH_INFO: '/not-a-response' });
    expect(r.status).toBe(500);
    expect(r.stderr).toContain('not a Response');
  });

  it('never sends more body than the app’s Content-Length, and logs a body that ends short', async () => {
    const long = await runCgiScript([cgiEntry, misbehaving], { REQUEST_METHOD: 'GET', PATH_INFO: '/long-body' });
    expect(long.headers).toContainEqual(['content-length', '4']);
    expect(long.body.length).toBe(0);
    expect(long.stderr).toContain('declared Content-Length 4 but its body has more bytes');
    const short = await runCgiScript([cgiEntry, misbehaving], { REQUEST_METHOD: 'GET', PATH_INFO: '/short-body' });
    expect(short.stderr).toContain('declared Content-Length 100 but its body has fewer bytes');
  });

  it('removes HTTP_PROXY from the process environment (httpoxy)', async () => {
    const r = await runCgiScript([cgiEntry, misbehaving], { REQUEST_METHOD: 'GET', PATH_INFO: '/env-proxy', HTTP_PROXY: 'http://evil.example:3128' });
    expect(r.body.toString()).toBe('HTTP_PROXY=(unset)\n');
  });

  it('a body over the limit gets the fixed 413 without running the app', async () => {
    const r = await runCgiScript([appEntry], { REQUEST_METHOD: 'POST', PATH_INFO: '/echo', CONTENT_LENGTH: String(3 * 1024 * 1024) }, '');
    expect(r.status).toBe(413);
    expect(r.body.toString()).toBe('413 Payload Too Large\n');
  });

  it('reads and discards a body the app did not want, so the server is not cut off mid-upload', async () => {
    const body = Buffer.alloc(1024 * 1024, 0x62);
    const r = await runCgiScript([appEntry], { REQUEST_METHOD: 'POST', PATH_INFO: '/hello', CONTENT_LENGTH: String(body.length) }, body);
    expect(r.status).toBe(405);
    expect(r.stdinError).toBeUndefined();
    expect(r.exitCode).toBe(0);
  });

  it('deploys an app written only against the Fetch API, unchanged', async () => {
    const r = await runCgiScript([cgiEntry, fetchOnly], {
      REQUEST_METHOD: 'PUT', SCRIPT_NAME: '/yourapplication', PATH_INFO: '/x', REQUEST_URI: '/yourapplication/x?y=1', HTTP_HOST: 'h', CONTENT_LENGTH: '4',
    }, 'data');
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('PUT /yourapplication/x?y=1 data\n');
    expect(r.headers).toContainEqual(['x-fetch-only', 'yes']);
  });
});

describe('withHeaderOctets: CGI request header values as octets, like the other transports', () => {
  const raw = () => Buffer.concat([Buffer.from('HTTP_X_A=caf'), Buffer.from([0xe9, 0]), Buffer.from('HTTP_X_B=caf'), Buffer.from([0xc3, 0xa9, 0]),
    Buffer.from('PATH_INFO=/'), Buffer.from([0xc3, 0xa9, 0]), Buffer.from('HTTP_X_NEW=1\0')]);

  it('reads the raw bytes back when a header value is not ASCII; other variables stay as decoded', () => {
    const env = { HTTP_X_A: 'caf\ufffd', HTTP_X_B: 'caf\u00e9', PATH_INFO: '/\u00e9' };
    expect(withHeaderOctets(env, raw)).toEqual({ HTTP_X_A: 'caf\u00e9', HTTP_X_B: 'caf\u00c3\u00a9', PATH_INFO: '/\u00e9' });
  });

  it('leaves an all-ASCII environment alone (no read), and falls back when /proc cannot be read', () => {
    const ascii = { HTTP_X_A: 'plain', PATH_INFO: '/\u00e9' };
    expect(withHeaderOctets(ascii, () => { throw new Error('must not read'); })).toBe(ascii);
    const env = { HTTP_X_A: 'caf\ufffd' };
    expect(withHeaderOctets(env, () => { throw new Error('no /proc'); })).toBe(env);
  });
});
