/**
 * gateway/lazy-response.ts: a Response that keeps its parts until something
 * needs undici's object. Whatever it answers, and whatever the gateway writes
 * for it, must be what a genuine undici Response gives for the same input:
 * every expectation comes from `new globalThis.Response(...)` (the reference
 * implementation) or is written out literally, never from the class under test.
 */
import { describe, expect, it } from 'vitest';
import { handleRequest, type HeaderList, type ResponseWriter } from '../../gateway/handler.ts';
import { Response as LazyResponse, TsgiResponse } from '../../gateway/lazy-response.ts';
import { Logger } from '../../gateway/logger.ts';

const Genuine = globalThis.Response;

/** What the gateway hands a transport for an app that answers `response`. */
async function written(make: () => Response, method = 'GET'): Promise<{ status: number; headers: HeaderList; body: string; aborted: boolean }> {
  let status = 0;
  let headers: HeaderList = [];
  const chunks: Buffer[] = [];
  let aborted = false;
  const writer: ResponseWriter = {
    sendHead(s, h) { status = s; headers = h; },
    write(chunk) { chunks.push(Buffer.from(chunk)); },
    end() {},
    abort() { aborted = true; },
  };
  const environ = { REQUEST_METHOD: method, SERVER_NAME: 'example.test', SERVER_PORT: '80', SERVER_PROTOCOL: 'HTTP/1.1', PATH_INFO: '/' };
  await handleRequest(() => make(), environ, null, writer, { logger: new Logger({ sink: () => {} }) });
  return { status, headers, body: Buffer.concat(chunks).toString('latin1'), aborted };
}

type Args = [body?: BodyInit | null, init?: ResponseInit];

/** Inputs the fast path answers itself, and inputs it hands to undici; both must look the same from outside. */
const CASES: Array<[label: string, args: () => Args]> = [
  ['no arguments', () => []],
  ['a string', () => ['Hello, World!\n']],
  ['an empty string', () => ['']],
  ['null body, 204', () => [null, { status: 204 }]],
  ['bytes', () => [new Uint8Array([0, 1, 2, 255])]],
  ['a Buffer', () => [Buffer.from('buffer body')]],
  ['non-ASCII and a lone surrogate', () => ['héllo \ud800 ✓']],
  ['status, statusText and headers', () => ['nope', { status: 404, statusText: 'Not Here', headers: { 'Content-Type': 'text/plain; charset=utf-8', 'X-B': 'b', 'x-a': 'a' } }]],
  ['values with edge whitespace', () => ['x', { headers: { 'x-pad': ' \t padded\t ', 'x-empty': '' } }]],
  ['a set-cookie and a content-length', () => ['fourteen bytes', { headers: { 'set-cookie': 'a=1; Path=/', 'content-length': '14' } }]],
  ['a wrong content-length', () => ['longer than four', { headers: { 'content-length': '4' } }]],
  ['hop-by-hop headers the gateway drops', () => ['x', { headers: { connection: 'close', 'transfer-encoding': 'chunked', 'x-kept': '1' } }]],
  ['a null-prototype record', () => ['x', { headers: Object.assign(Object.create(null), { 'x-null-proto': 'yes' }) }]],
  // Left to undici:
  ['a Headers object with two cookies', () => { const h = new Headers({ a: '1' }); h.append('set-cookie', 'x=1'); h.append('set-cookie', 'y=2'); return ['x', { headers: h }]; }],
  ['header pairs', () => ['x', { headers: [['x-pair', '1'], ['x-pair', '2']] }]],
  ['one name in two spellings', () => ['x', { headers: { 'x-dup': '1', 'X-Dup': '2' } }]],
  ['a number as a header value', () => ['x', { headers: { 'x-n': 42 as unknown as string } }]],
  ['a status given as a string', () => ['x', { status: '201' as unknown as number }]],
  ['a stream', () => [new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode('streamed')); c.close(); } })]],
  ['URLSearchParams', () => [new URLSearchParams({ a: '1', b: 'two words' })]],
  ['an ArrayBuffer', () => [new Uint8Array([104, 105]).buffer]],
];

describe('a lazy Response, seen from the app', () => {
  it('is instanceof Response, says so, and keeps the statics', () => {
    const response = new LazyResponse('x');
    expect(response).toBeInstanceOf(Genuine);
    expect(Object.prototype.toString.call(response)).toBe('[object Response]');
    expect(LazyResponse.error().type).toBe('error');
    expect(LazyResponse.redirect('http://example.test/next', 301).headers.get('location')).toBe('http://example.test/next');
  });

  it.each(CASES)('answers every member as undici does: %s', async (_label, args) => {
    const genuine = new Genuine(...args());
    const lazy = new LazyResponse(...args());
    for (const name of ['status', 'statusText', 'ok', 'type', 'url', 'redirected', 'bodyUsed'] as const) {
      expect(lazy[name], name).toEqual(genuine[name]);
    }
    expect([...lazy.headers]).toEqual([...genuine.headers]);
    expect(lazy.headers.getSetCookie()).toEqual(genuine.headers.getSetCookie());
    expect(lazy.body === null).toBe(genuine.body === null);
    expect(new Uint8Array(await lazy.arrayBuffer())).toEqual(new Uint8Array(await genuine.arrayBuffer()));
    expect(lazy.bodyUsed).toBe(genuine.bodyUsed);
  });

  it.each(CASES)('is written by the gateway byte for byte as undici’s: %s', async (_label, args) => {
    for (const method of ['GET', 'HEAD']) {
      expect(await written(() => new LazyResponse(...args()), method)).toEqual(await written(() => new Genuine(...args()), method));
    }
  });

  it('throws what undici throws, where undici throws it', () => {
    const bad: Args[] = [
      ['x', { status: 199 }],
      ['x', { status: 600 }],
      ['x', { status: 204 }],
      [null, { statusText: 'two\nlines' }],
      ['x', { headers: { 'bad name': 'x' } }],
      ['x', { headers: { 'x-split': 'a\r\nb' } }],
      ['x', { headers: { 'x-nul': 'a\0b' } }],
      ['x', { headers: { 'x-wide': 'snowman ☃' } }],
      ['x', { headers: { [Symbol('s')]: 'x' } as unknown as Record<string, string> }],
    ];
    for (const args of bad) {
      let expected: unknown;
      try { new Genuine(...args); } catch (error) { expected = error; }
      expect(expected, String(args[1] && JSON.stringify(args[1]))).toBeInstanceOf(Error);
      expect(() => new LazyResponse(...args)).toThrow((expected as Error).constructor as ErrorConstructor);
    }
  });

  it('keeps its own copy of the body and the headers, as undici does', async () => {
    const bytes = new Uint8Array([1, 2, 3]);
    const headers: Record<string, string> = { 'x-a': 'before' };
    const response = new LazyResponse(bytes, { headers });
    bytes[0] = 9;
    headers['x-a'] = 'after';
    headers['x-b'] = 'added';
    const seen = await written(() => response);
    expect(seen.headers).toEqual([['x-a', 'before'], ['content-length', '3']]);
    expect([...Buffer.from(seen.body, 'latin1')]).toEqual([1, 2, 3]);
  });

  it('builds undici’s object when touched, and from then on the gateway writes that one', async () => {
    const seen = await written(() => {
      const response = new LazyResponse('touched', { headers: { 'x-a': '1' } });
      response.headers.set('x-late', 'yes');
      return response;
    });
    expect(seen.headers).toEqual([
      ['content-type', 'text/plain;charset=UTF-8'], ['x-a', '1'], ['x-late', 'yes'], ['content-length', '7'],
    ]);
    expect(seen.body).toBe('touched');
  });

  it('reads its body once, and clones into a genuine Response', async () => {
    const response = new LazyResponse('once');
    const copy = response.clone();
    expect(await response.text()).toBe('once');
    expect(response.bodyUsed).toBe(true);
    await expect(response.text()).rejects.toThrow(TypeError);
    expect(await copy.text()).toBe('once');
  });

  it('Response.json() gives undici’s bytes and headers', async () => {
    const data = { b: [1, 'two'], a: null, u: '☃' };
    const inits: Array<ResponseInit | undefined> = [undefined, { status: 201, headers: { 'x-a': '1' } }, { headers: { 'content-type': 'application/vnd.x+json' } }];
    for (const init of inits) {
      expect(await written(() => LazyResponse.json(data, init))).toEqual(await written(() => Genuine.json(data, init)));
    }
    expect(() => LazyResponse.json(undefined)).toThrow(TypeError);
    expect(() => Genuine.json(undefined)).toThrow(TypeError);
  });

  it('gives the gateway its parts only while untouched', () => {
    const response = new LazyResponse('x', { status: 201 });
    expect(TsgiResponse.take(response)).toEqual({
      status: 201, statusText: '', headers: [['content-type', 'text/plain;charset=UTF-8']], setCookies: [], body: 'x',
    });
    void response.body;
    expect(TsgiResponse.take(response)).toBeUndefined();
    expect(TsgiResponse.take(new Genuine('x'))).toBeUndefined();
  });

  it('is used once written, like undici’s: returned again it fails (500), and its body can no longer be read', async () => {
    for (const Class of [Genuine, LazyResponse]) {
      const once = new Class('only once\n');
      expect(await written(() => once)).toMatchObject({ status: 200, body: 'only once\n' });
      expect(once.bodyUsed).toBe(true);
      expect(await written(() => once)).toMatchObject({ status: 500 });
      await expect(once.text()).rejects.toThrow(TypeError);
      expect(() => once.clone()).toThrow(TypeError);
      // Without a body there is nothing to use up: written as often as it is returned.
      const empty = new Class(null, { status: 204 });
      expect((await written(() => empty)).status).toBe(204);
      expect((await written(() => empty)).status).toBe(204);
      expect(empty.bodyUsed).toBe(false);
    }
  });
});
