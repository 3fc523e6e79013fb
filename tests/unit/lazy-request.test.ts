/**
 * The Request the app receives is built lazily (gateway/lazy-request.ts).
 * Whatever it answers must be what undici's own Request answers for the same
 * input: every expectation here comes from a genuine `new Request(...)` or
 * `new URL(...)`, the reference implementations, never from the gateway.
 */
import { describe, expect, it } from 'vitest';
import { requestFromEnviron, requestMethod, requestUrl } from '../../gateway/environ.ts';

const base = { REQUEST_METHOD: 'GET', SERVER_NAME: 'example.test', SERVER_PORT: '80', SERVER_PROTOCOL: 'HTTP/1.1' };

async function* chunks(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield new TextEncoder().encode(part);
}

describe('a lazily built Request behaves as undici’s', () => {
  it('is instanceof Request and says so', () => {
    const { request } = requestFromEnviron(base, null);
    expect(request).toBeInstanceOf(Request);
    expect(Object.prototype.toString.call(request)).toBe('[object Request]');
  });

  it('has every member of Request.prototype, with the values a genuine Request has', () => {
    const environ = { ...base, HTTP_HOST: 'example.test', REQUEST_URI: '/a?b=1', HTTP_ACCEPT: 'text/plain', HTTP_X_TWO: 'a, b' };
    const { request } = requestFromEnviron(environ, null);
    const genuine = new Request('http://example.test/a?b=1', { headers: { accept: 'text/plain', host: 'example.test', 'x-two': 'a, b' } });
    for (const name of Object.getOwnPropertyNames(Request.prototype)) {
      if (name === 'constructor' || name === 'signal') continue;
      const value = (genuine as unknown as Record<string, unknown>)[name];
      const lazy = (request as unknown as Record<string, unknown>)[name];
      if (typeof value === 'function') expect(typeof lazy, name).toBe('function');
      else if (value instanceof Headers) expect([...(lazy as Headers)], name).toEqual([...value]);
      else expect(lazy, name).toEqual(value);
    }
  });

  it('normalises and refuses methods as Request does', () => {
    for (const method of ['get', 'post', 'Delete', 'PATCH', 'patch', 'PROPFIND', 'options', 'head', 'put']) {
      expect(requestMethod(method), method).toBe(new Request('http://x/', { method }).method);
    }
    for (const method of ['CONNECT', 'trace', 'TRACK', 'bad method', 'x\ny']) {
      expect(() => new Request('http://x/', { method }), method).toThrow(TypeError);
      expect(() => requestMethod(method), method).toThrow(TypeError);
    }
  });

  it('reads the body through text(), json() and the stream, once', async () => {
    const json = requestFromEnviron({ ...base, REQUEST_METHOD: 'POST', CONTENT_LENGTH: '7', CONTENT_TYPE: 'application/json' }, () => chunks('{"a":', '1}')).request;
    expect(json.bodyUsed).toBe(false);
    expect(await json.json()).toEqual({ a: 1 });
    expect(json.bodyUsed).toBe(true);
    await expect(json.text()).rejects.toThrow(TypeError);

    const stream = requestFromEnviron({ ...base, REQUEST_METHOD: 'PUT' }, () => chunks('x', 'y')).request;
    expect(await new Response(stream.body).text()).toBe('xy');
  });

  it('parses form data (multipart) like a genuine Request', async () => {
    const form = new FormData();
    form.set('name', 'value');
    form.set('file', new Blob(['content']), 'a.txt');
    const reference = new Request('http://x/', { method: 'POST', body: form });
    const bytes = new Uint8Array(await reference.clone().arrayBuffer());
    const { request } = requestFromEnviron(
      { ...base, REQUEST_METHOD: 'POST', CONTENT_LENGTH: String(bytes.byteLength), CONTENT_TYPE: reference.headers.get('content-type')! },
      () => (async function* () { yield bytes; })(),
    );
    const parsed = await request.formData();
    expect(parsed.get('name')).toBe('value');
    expect(await (parsed.get('file') as File).text()).toBe('content');
  });

  it('clone() is a genuine Request: it can be passed to new Request(), and both bodies read in full', async () => {
    const { request } = requestFromEnviron({ ...base, REQUEST_METHOD: 'POST', CONTENT_LENGTH: '5' }, () => chunks('hel', 'lo'));
    const copy = request.clone();
    const rebuilt = new Request(copy, { headers: { 'x-added': '1' } });
    expect(await rebuilt.text()).toBe('hello');
    expect(await request.text()).toBe('hello');
  });

  it('request.signal and ctx.signal are one signal, and a clone follows it', () => {
    const controller = new AbortController();
    const { request, context } = requestFromEnviron(base, null, { signal: controller.signal });
    expect(request.signal).toBe(context.signal);
    const copy = request.clone();
    controller.abort(new Error('client gone'));
    expect(request.signal.aborted).toBe(true);
    expect(copy.signal.aborted).toBe(true);
  });
});

describe('requestUrl: the fast path gives the URL parser’s own answer', () => {
  const hosts = ['example.test', 'example.test:8080', 'Example.Test', '127.0.0.1', '127.1', '0x7f.0.0.1', '[::1]:8080', 'example.test:80',
    'example.test:080', 'xn--nxasmq6b.test', 'a_b.test', 'host.', '1.2.3.4:65535', 'h:99999'];
  const targets = ['/', '/hello', '/a/b/', '/a/./b', '/a/../b', '/a/%2e%2E/b', '/.well-known/x', '/a b', '/a%20b?q=a b', "/it's?q='",
    '/a?b=c&d=%2F', '/a#frag', '//evil.example/x', '/a/..', '/%zz', '/€', '/a|b^c`d{e}', '/a\\b', '/?', '/a.b/c.d?x.y'];

  it.each(hosts.flatMap((host) => targets.map((target) => [host, target] as const)))('http://%s + %s', (host, target) => {
    let expected: string;
    try {
      expected = new URL(`http://${host}${target}`).href;
    } catch {
      expected = new URL(`http://example.test${target}`).href;
    }
    expect(requestUrl({ ...base, HTTP_HOST: host, REQUEST_URI: target })).toBe(expected);
  });

  it('drops the default port of https and keeps another', () => {
    expect(requestUrl({ ...base, HTTPS: 'on', HTTP_HOST: 'example.test:443', REQUEST_URI: '/x' })).toBe(new URL('https://example.test:443/x').href);
    expect(requestUrl({ ...base, HTTPS: 'on', HTTP_HOST: 'example.test:80', REQUEST_URI: '/x' })).toBe(new URL('https://example.test:80/x').href);
  });
});

describe('genuineRequest middleware', () => {
  it('hands the app undici’s own Request, which new Request() and fetch() accept, with the same body and signal', async () => {
    const { genuineRequest } = await import('../../gateway/middleware/genuine-request.ts');
    const controller = new AbortController();
    const { request, context } = requestFromEnviron(
      { ...base, REQUEST_METHOD: 'POST', CONTENT_LENGTH: '2', HTTP_HOST: 'example.test', REQUEST_URI: '/p?q', HTTP_X_A: '1' },
      () => chunks('o', 'k'),
      { signal: controller.signal },
    );
    let seen: Request | undefined;
    const app = genuineRequest((r) => { seen = r; return new Response(null); });
    await app(request, context);
    const rebuilt = new Request(seen!, { headers: { 'x-b': '2' } });
    expect(rebuilt.url).toBe('http://example.test/p?q');
    expect(await rebuilt.text()).toBe('ok');
    controller.abort();
    expect(seen!.signal.aborted).toBe(true);
  });
});
