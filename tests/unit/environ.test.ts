import { describe, expect, it } from 'vitest';
import { requestFromEnviron, requestTarget, withoutHttpoxy, expectsBody } from '../../gateway/environ.ts';
import { RequestBodyTooLarge } from '../../gateway/errors.ts';

const base = { REQUEST_METHOD: 'GET', SERVER_NAME: 'example.test', SERVER_PORT: '80', SERVER_PROTOCOL: 'HTTP/1.1' };

async function* chunks(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield new TextEncoder().encode(part);
}

describe('requestFromEnviron: the one CGI -> Request translator', () => {
  it('root mount: SCRIPT_NAME "" and PATH_INFO from the server, url from REQUEST_URI', () => {
    const { request, context } = requestFromEnviron(
      { ...base, SCRIPT_NAME: '', PATH_INFO: '/echo/a b', REQUEST_URI: '/echo/a%20b?x=%2F&y', QUERY_STRING: 'x=%2F&y', HTTP_HOST: 'example.test:8083' },
      null,
    );
    expect(request.url).toBe('http://example.test:8083/echo/a%20b?x=%2F&y');
    expect(context.scriptName).toBe('');
    expect(context.pathInfo).toBe('/echo/a b');
  });

  it('prefix mount: scriptName without trailing slash, pathInfo "" for the bare mount', () => {
    const { request, context } = requestFromEnviron(
      { ...base, SCRIPT_NAME: '/yourapplication/', PATH_INFO: '', REQUEST_URI: '/yourapplication', HTTP_HOST: 'h' },
      null,
    );
    expect(context.scriptName).toBe('/yourapplication');
    expect(context.pathInfo).toBe('');
    expect(request.url).toBe('http://h/yourapplication');
  });

  it('keeps percent-encoding of REQUEST_URI (UTF-8, %2F) while PATH_INFO stays decoded', () => {
    const { request, context } = requestFromEnviron(
      { ...base, SCRIPT_NAME: '/yourapplication', PATH_INFO: '/echo/é/a/b', REQUEST_URI: '/yourapplication/echo/%C3%A9/a%2Fb?q=%E2%9C%93', HTTP_HOST: 'h' },
      null,
    );
    expect(new URL(request.url).pathname).toBe('/yourapplication/echo/%C3%A9/a%2Fb');
    expect(new URL(request.url).searchParams.get('q')).toBe('✓');
    expect(context.pathInfo).toBe('/echo/é/a/b');
  });

  it('without REQUEST_URI rebuilds the target from SCRIPT_NAME + PATH_INFO + QUERY_STRING', () => {
    expect(requestTarget({ SCRIPT_NAME: '/app', PATH_INFO: '/a b/é', QUERY_STRING: 'x=1' })).toBe('/app/a%20b/%C3%A9?x=1');
    expect(requestTarget({})).toBe('/');
    expect(requestTarget({ REQUEST_URI: 'http://proxy.example/p?q' })).toBe('/p?q');
  });

  it('an absolute-form REQUEST_URI (Apache passes it as sent) reaches the app in origin-form (docs/http-policy.md)', () => {
    const { request, context } = requestFromEnviron({ ...base, HTTP_HOST: 'example.test', PATH_INFO: '/echo', REQUEST_URI: 'http://example.test/echo?x=1' }, null);
    expect(context.environ.REQUEST_URI).toBe('/echo?x=1');
    expect(request.url).toBe('http://example.test/echo?x=1');
    const origin = { ...base, PATH_INFO: '/echo', REQUEST_URI: '/echo' };
    expect(requestFromEnviron(origin, null).context.environ).toBe(origin); // origin-form: no copy
  });

  it('Cookie: repeated fields joined by a server with ", " reach the app joined with "; " (RFC 6265 5.4)', () => {
    const cookie = (value: string) => requestFromEnviron({ ...base, PATH_INFO: '/', HTTP_COOKIE: value }, null).request.headers.get('cookie');
    expect(cookie('a=1, b=2')).toBe('a=1; b=2');
    expect(cookie('a=1,b=2 ,c=3')).toBe('a=1; b=2; c=3');
    expect(cookie('a=1; b=2')).toBe('a=1; b=2');
    // Only Cookie: other repeated fields keep RFC 9110's ", ".
    expect(requestFromEnviron({ ...base, PATH_INFO: '/', HTTP_X_A: '1, 2' }, null).request.headers.get('x-a')).toBe('1, 2');
  });

  it('a target starting with "//" stays a path: the client cannot choose the host the app sees', () => {
    const { request } = requestFromEnviron({ ...base, HTTP_HOST: 'example.test', PATH_INFO: '/echo', REQUEST_URI: '//evil.example/echo?x' }, null);
    expect(request.url).toBe('http://example.test//evil.example/echo?x');
  });

  it('adds a leading slash to a PATH_INFO that lacks one', () => {
    expect(requestFromEnviron({ ...base, PATH_INFO: 'hello' }, null).context.pathInfo).toBe('/hello');
  });

  it('builds the authority from SERVER_NAME and a non-default SERVER_PORT when there is no Host', () => {
    expect(requestFromEnviron({ ...base, SERVER_PORT: '8080', PATH_INFO: '/x' }, null).request.url).toBe('http://example.test:8080/x');
    expect(requestFromEnviron({ ...base, SERVER_PORT: '443', HTTPS: 'on', PATH_INFO: '/x' }, null).request.url).toBe('https://example.test/x');
  });

  it.each([['on', 'https:'], ['ON', 'https:'], ['1', 'https:'], ['off', 'http:'], ['', 'http:']])('HTTPS=%j -> %s', (https, protocol) => {
    const { request } = requestFromEnviron({ ...base, HTTPS: https, HTTP_HOST: 'h' }, null);
    expect(new URL(request.url).protocol).toBe(protocol);
  });

  it('maps HTTP_* to headers, CONTENT_TYPE/LENGTH unprefixed, and drops the Proxy header (httpoxy)', () => {
    const { request, context } = requestFromEnviron(
      {
        ...base, REQUEST_METHOD: 'POST', HTTP_HOST: 'h', HTTP_X_CUSTOM_THING: 'v', HTTP_PROXY: 'http://evil:8888',
        CONTENT_TYPE: 'application/json', CONTENT_LENGTH: '2', HTTP_CONTENT_TYPE: 'text/wrong',
      },
      () => chunks('{}'),
    );
    expect(request.headers.get('x-custom-thing')).toBe('v');
    expect(request.headers.get('content-type')).toBe('application/json');
    expect(request.headers.get('content-length')).toBe('2');
    expect(request.headers.has('proxy')).toBe(false);
    expect(context.environ.HTTP_PROXY).toBeUndefined();
  });

  it('reads exactly CONTENT_LENGTH bytes even if more arrive', async () => {
    const { request } = requestFromEnviron({ ...base, REQUEST_METHOD: 'POST', CONTENT_LENGTH: '5' }, () => chunks('hel', 'lo world'));
    expect(await request.text()).toBe('hello');
  });

  it('reads to EOF when there is no CONTENT_LENGTH (chunked uploads through Apache CGI)', async () => {
    const { request } = requestFromEnviron({ ...base, REQUEST_METHOD: 'PUT' }, () => chunks('a', 'b', 'c'));
    expect(await request.text()).toBe('abc');
  });

  it('GET and HEAD never open the body', () => {
    let opened = false;
    const open = () => { opened = true; return chunks('x'); };
    expect(requestFromEnviron({ ...base, CONTENT_LENGTH: '1' }, open).request.body).toBeNull();
    expect(opened).toBe(false);
    expect(expectsBody({ REQUEST_METHOD: 'HEAD' })).toBe(false);
    expect(expectsBody({ REQUEST_METHOD: 'POST', CONTENT_LENGTH: '0' })).toBe(false);
    expect(expectsBody({ REQUEST_METHOD: 'POST' })).toBe(true);
  });

  it('refuses a declared CONTENT_LENGTH over the limit before calling the app', () => {
    expect(() => requestFromEnviron({ ...base, REQUEST_METHOD: 'POST', CONTENT_LENGTH: '11' }, () => chunks(), { bodyLimit: 10 }))
      .toThrow(RequestBodyTooLarge);
  });

  it('errors the body stream when an unsized body passes the limit', async () => {
    const { request } = requestFromEnviron({ ...base, REQUEST_METHOD: 'POST' }, () => chunks('12345', '67890', 'x'), { bodyLimit: 10 });
    await expect(request.text()).rejects.toBeInstanceOf(RequestBodyTooLarge);
  });

  it('rejects a garbage CONTENT_LENGTH', () => {
    expect(() => requestFromEnviron({ ...base, REQUEST_METHOD: 'POST', CONTENT_LENGTH: '1e3' }, () => chunks())).toThrow(/CONTENT_LENGTH/);
  });

  it('passes the abort signal to the request and the context', () => {
    const controller = new AbortController();
    const { request, context } = requestFromEnviron(base, null, { signal: controller.signal });
    controller.abort();
    expect(request.signal.aborted).toBe(true);
    expect(context.signal.aborted).toBe(true);
  });

  it('drops empty header values (lighttpd cannot pass them, so no transport does)', () => {
    const { request } = requestFromEnviron({ ...base, HTTP_X_EMPTY: '', HTTP_X_FULL: 'v' }, null);
    expect(request.headers.has('x-empty')).toBe(false);
    expect(request.headers.get('x-full')).toBe('v');
  });

  it('withoutHttpoxy leaves other variables alone', () => {
    expect(withoutHttpoxy({ HTTP_PROXY: 'x', HTTP_HOST: 'h' })).toEqual({ HTTP_HOST: 'h' });
  });
});
