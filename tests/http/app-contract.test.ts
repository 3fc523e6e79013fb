/**
 * The whole route contract (docs/design.md#3-the-route-contract) through the HTTP adapter,
 * in-process with supertest, at the root and at /yourapplication. Expected
 * values are computed here from the request, not copied from the app.
 */
import { createHash } from 'node:crypto';
import request from 'supertest';
import { describe, expect, it, vi } from 'vitest';
import app, { deterministicByte } from '../../app/app.ts';
import { createHttpServer } from '../../gateway/http/server.ts';
import { mount } from '../../gateway/middleware/mount.ts';
import { proxyFix } from '../../gateway/middleware/proxy-fix.ts';

const mounts = [
  { name: 'root', prefix: '', server: createHttpServer(app) },
  { name: '/yourapplication (mount dispatcher)', prefix: '/yourapplication', server: createHttpServer(mount({ '/yourapplication': app })) },
];

/** supertest hands the raw IncomingMessage to a custom parser: collect it as bytes. */
function binaryParser(res: unknown, done: (error: Error | null, body: Buffer) => void): void {
  const stream = res as NodeJS.ReadableStream;
  const parts: Buffer[] = [];
  stream.on('data', (c: Buffer) => parts.push(c));
  stream.on('end', () => done(null, Buffer.concat(parts)));
}

describe.each(mounts)('route contract at $name', ({ prefix, server }) => {
  const at = (path: string) => `${prefix}${path}`;

  it('GET / is an HTML page about this request, with links under the mount', async () => {
    const res = await request(server).get(at('/')).expect(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.text).toContain(`<code>${prefix}</code>`);
    expect(res.text).toContain(`href="${prefix}/hello"`);
    expect(res.text).toContain(`href="${prefix}/whoami"`);
    expect(res.text).toMatch(/requests served by this process<\/th><td><code>\d+/);
    expect(res.text, 'no comparison page link unless COMPARE_PAGE_URL is set').not.toContain('comparison page');
  });

  it('GET / links the comparison page named by COMPARE_PAGE_URL, and only a path or an http(s) URL', async () => {
    try {
      vi.stubEnv('COMPARE_PAGE_URL', 'http://127.0.0.1:8080/');
      expect((await request(server).get(at('/')).expect(200)).text).toContain('<a href="http://127.0.0.1:8080/">&larr; the comparison page');
      vi.stubEnv('COMPARE_PAGE_URL', 'javascript:alert(1)');
      expect((await request(server).get(at('/')).expect(200)).text).not.toContain('javascript:');
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('GET /hello is exactly the seeds’ Hello, World!', async () => {
    const res = await request(server).get(at('/hello')).expect(200);
    expect(res.text).toBe('Hello, World!\n');
    expect(res.headers['content-length']).toBe('14');
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
  });

  it('HEAD /hello has the same headers and no body', async () => {
    const res = await request(server).head(at('/hello')).expect(200);
    expect(res.headers['content-length']).toBe('14');
    expect(res.text ?? '').toBe('');
  });

  it('POST /hello is a 405 with Allow', async () => {
    const res = await request(server).post(at('/hello')).send('x').expect(405);
    expect(res.headers.allow).toBe('GET, HEAD');
  });

  it('ANY /echo/<rest> reports the request (sorted JSON)', async () => {
    const body = JSON.stringify({ greeting: 'привет' });
    const res = await request(server)
      .put(at('/echo/caf%C3%A9/a%2Fb?x=1&x=2&y=%20z&e='))
      .set('Host', 'example.test')
      .set('Content-Type', 'application/json')
      .set('X-Custom', 'v1')
      .set('Proxy', 'http://evil.example:3128')
      .send(body)
      .expect(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(Object.keys(res.body)).toEqual([...Object.keys(res.body)].sort());
    expect(res.body).toMatchObject({
      method: 'PUT',
      scriptName: prefix,
      pathInfo: '/echo/café/a/b',
      rawPath: `${prefix}/echo/caf%C3%A9/a%2Fb`,
      query: 'x=1&x=2&y=%20z&e=',
      args: { x: ['1', '2'], y: [' z'], e: [''] },
      body: { length: Buffer.byteLength(body), sha256: createHash('sha256').update(body).digest('hex') },
      url: `http://example.test${prefix}/echo/caf%C3%A9/a%2Fb?x=1&x=2&y=%20z&e=`,
      scheme: 'http',
    });
    expect(res.body.headers['x-custom']).toBe('v1');
    expect(res.body.headers).not.toHaveProperty('proxy');
    expect(res.body.remoteAddr).toMatch(/127\.0\.0\.1/);
  });

  it('/echo at the bare route and with DELETE', async () => {
    const res = await request(server).delete(at('/echo')).expect(200);
    expect(res.body).toMatchObject({ method: 'DELETE', pathInfo: '/echo', body: { length: 0 } });
  });

  it('GET /whoami reports the process, and its mode from APP_MODE (development when unset)', async () => {
    try {
      // What each image sets (images/Dockerfile, configs/): the mode is read per request.
      vi.stubEnv('APP_MODE', 'nginx-fcgi');
      const res = await request(server).get(at('/whoami')).expect(200);
      expect(res.body).toMatchObject({ pid: process.pid, mode: 'nginx-fcgi', scriptName: prefix, pathInfo: '/whoami' });
      expect(res.body.requests).toBeGreaterThan(0);
      vi.stubEnv('APP_MODE', undefined);
      const unset = await request(server).get(at('/whoami')).expect(200);
      expect(unset.body.mode).toBe('development');
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('GET /redirect keeps the mount in Location, and refuses to leave the app', async () => {
    const res = await request(server).get(at('/redirect?to=/hello')).expect(302);
    expect(res.headers.location).toBe(`${prefix}/hello`);
    await request(server).get(at('/redirect?to=//evil.example/')).expect(400);
    await request(server).get(at('/redirect?to=https://evil.example/')).expect(400);
  });

  it('GET /cookies sets two cookies scoped to the mount', async () => {
    const res = await request(server).get(at('/cookies')).expect(200);
    const cookies = res.headers['set-cookie'] as unknown as string[];
    expect(cookies).toHaveLength(2);
    for (const cookie of cookies) expect(cookie).toContain(`Path=${prefix || '/'}`);
  });

  it('GET /stream?chunks=N streams N lines without Content-Length', async () => {
    const res = await request(server).get(at('/stream?chunks=4')).expect(200);
    expect(res.headers['content-length']).toBeUndefined();
    expect(res.text).toBe([1, 2, 3, 4].map((i) => `chunk ${i} of 4\n`).join(''));
  });

  it('GET /bytes/<n> gives n deterministic bytes', async () => {
    const n = 200_000;
    const res = await request(server).get(at(`/bytes/${n}`)).buffer(true).parse(binaryParser).expect(200);
    const body = res.body as Buffer;
    expect(body.length).toBe(n);
    expect(res.headers['content-length']).toBe(String(n));
    for (const i of [0, 1, 250, 251, 65_535, 65_536, n - 1]) expect(body[i]).toBe((i * 7 + 3) % 251);
    expect(deterministicByte(10)).toBe(73);
  });

  it.each([200, 201, 204, 304, 404, 418, 503])('GET /status/%i', async (code) => {
    const res = await request(server).get(at(`/status/${code}`));
    expect(res.status).toBe(code);
  });

  it('GET /slow?ms=N waits and answers', async () => {
    const started = Date.now();
    const res = await request(server).get(at('/slow?ms=150')).expect(200);
    expect(res.text).toBe('slept 150 ms\n');
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('GET /error is the gateway’s fixed 500', async () => {
    const res = await request(server).get(at('/error')).expect(500);
    expect(res.text).toBe('500 Internal Server Error\n');
  });

  it('an unknown route is the app’s own 404', async () => {
    const res = await request(server).get(at('/no/such/thing')).expect(404);
    expect(res.text).toBe('yourapplication: no route for /no/such/thing\n');
  });

  it('a body over the limit is a 413', async () => {
    const res = await request(server).post(at('/echo')).send(Buffer.alloc(2 * 1024 * 1024 + 1, 0x61)).expect(413);
    expect(res.text).toBe('413 Payload Too Large\n');
  });
});

describe('behind a reverse proxy (proxy fix, as in nginx-prefork)', () => {
  const server = createHttpServer(proxyFix(app, { for: 1, proto: 1, host: 1, prefix: 1 }));

  it('takes the mount, client address and host from the trusted headers', async () => {
    const res = await request(server)
      .get('/yourapplication/echo/x?q=1')
      .set('Host', 'backend')
      .set('X-Forwarded-For', '203.0.113.5')
      .set('X-Forwarded-Proto', 'http')
      .set('X-Forwarded-Host', 'example.test')
      .set('X-Forwarded-Prefix', '/yourapplication')
      .expect(200);
    expect(res.body).toMatchObject({
      scriptName: '/yourapplication', pathInfo: '/echo/x', rawPath: '/yourapplication/echo/x',
      url: 'http://example.test/yourapplication/echo/x?q=1', remoteAddr: '203.0.113.5',
    });
    expect(res.body.headers).not.toHaveProperty('x-forwarded-for');
  });
});
