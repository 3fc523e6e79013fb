import { describe, expect, it } from 'vitest';
import { requestFromEnviron } from '../../gateway/environ.ts';
import { stripScriptName } from '../../gateway/middleware/script-name.ts';
import { lighttpdRootFix } from '../../gateway/middleware/lighttpd-root-fix.ts';
import { mount } from '../../gateway/middleware/mount.ts';
import { hideMount, targetBelowMount } from '../../gateway/middleware/hide-mount.ts';
import { holdForSpawn } from '../../gateway/middleware/spawn-hold.ts';
import { parseForwarded, parseProxyTrust, proxyFix, trustedValue } from '../../gateway/middleware/proxy-fix.ts';
import type { TsgiApp, TsgiContext } from '../../gateway/types.ts';

/** An app that reports what it was given. */
const inspect: TsgiApp = (request, ctx) => Response.json({
  url: request.url, scriptName: ctx.scriptName, pathInfo: ctx.pathInfo, remoteAddr: ctx.remoteAddr,
  SCRIPT_NAME: ctx.environ.SCRIPT_NAME, PATH_INFO: ctx.environ.PATH_INFO, orig: Object.fromEntries(
    Object.entries(ctx.environ).filter(([k]) => k.startsWith('tsgi.proxy_fix.orig.')),
  ),
});

async function call(app: TsgiApp, environ: Record<string, string>) {
  const { request, context } = requestFromEnviron({ REQUEST_METHOD: 'GET', SERVER_NAME: 'backend', SERVER_PORT: '80', REMOTE_ADDR: '10.0.0.2', ...environ }, null);
  return (await app(request, context)).json();
}

describe('stripScriptName', () => {
  it('clears SCRIPT_NAME like the seed when given no prefix', async () => {
    const out = await call(stripScriptName(inspect), { SCRIPT_NAME: '/yourapplication.fcgi', PATH_INFO: '/news/' });
    expect(out).toMatchObject({ scriptName: '', pathInfo: '/news/', SCRIPT_NAME: '' });
  });
  it('removes a prefix of whole segments only', async () => {
    expect(await call(stripScriptName(inspect, '/app'), { SCRIPT_NAME: '/app/sub', PATH_INFO: '/x' })).toMatchObject({ scriptName: '/sub' });
    expect(await call(stripScriptName(inspect, '/app'), { SCRIPT_NAME: '/application', PATH_INFO: '/x' })).toMatchObject({ scriptName: '/application' });
  });
});

describe('lighttpdRootFix', () => {
  it('moves the first segment lighttpd put into SCRIPT_NAME back into PATH_INFO', async () => {
    const out = await call(lighttpdRootFix(inspect), { SCRIPT_NAME: '/echo', PATH_INFO: '/a/b', REQUEST_URI: '/echo/a/b' });
    expect(out).toMatchObject({ scriptName: '', pathInfo: '/echo/a/b', PATH_INFO: '/echo/a/b', url: 'http://backend/echo/a/b' });
  });
});

describe('mount', () => {
  const name = (tag: string): TsgiApp => (_r, ctx) => Response.json({ tag, scriptName: ctx.scriptName, pathInfo: ctx.pathInfo });
  const app = mount({ '/a': name('a'), '/a/b': name('ab'), '/yourapplication/': name('y') });
  it.each([
    ['/a', { tag: 'a', scriptName: '/a', pathInfo: '' }],
    ['/a/x', { tag: 'a', scriptName: '/a', pathInfo: '/x' }],
    ['/a/b/c', { tag: 'ab', scriptName: '/a/b', pathInfo: '/c' }],
    ['/yourapplication/hello', { tag: 'y', scriptName: '/yourapplication', pathInfo: '/hello' }],
  ])('%s', async (path, expected) => {
    expect(await call(app, { PATH_INFO: path })).toEqual(expected);
  });
  it('does not match part of a segment, and falls back to 404', async () => {
    const { request, context } = requestFromEnviron({ PATH_INFO: '/ab' }, null);
    expect((await app(request, context)).status).toBe(404);
  });
});

describe('proxyFix', () => {
  const headers = {
    HTTP_HOST: 'backend', HTTP_X_FORWARDED_FOR: '203.0.113.9, 198.51.100.7', HTTP_X_FORWARDED_PROTO: 'https',
    HTTP_X_FORWARDED_HOST: 'public.example:8443', HTTP_X_FORWARDED_PREFIX: '/yourapplication',
  };

  it('trusts nothing by default', async () => {
    const out = await call(proxyFix(inspect), { ...headers, PATH_INFO: '/yourapplication/x', REQUEST_URI: '/yourapplication/x' });
    expect(out).toMatchObject({ remoteAddr: '10.0.0.2', url: 'http://backend/yourapplication/x', scriptName: '', pathInfo: '/yourapplication/x' });
  });

  it('applies one trusted hop per header and keeps the originals', async () => {
    const app = proxyFix(inspect, { for: 1, proto: 1, host: 1, prefix: 1 });
    const out = await call(app, { ...headers, PATH_INFO: '/yourapplication/x', REQUEST_URI: '/yourapplication/x?q=1' });
    expect(out).toMatchObject({
      remoteAddr: '198.51.100.7',
      url: 'https://public.example:8443/yourapplication/x?q=1',
      scriptName: '/yourapplication', pathInfo: '/x',
      orig: { 'tsgi.proxy_fix.orig.REMOTE_ADDR': '10.0.0.2', 'tsgi.proxy_fix.orig.HTTP_HOST': 'backend', 'tsgi.proxy_fix.orig.SCRIPT_NAME': '' },
    });
  });

  it('keeps a trusted X-Forwarded-Host as sent when only its letter case differs from the URL form; refuses a non-host', async () => {
    const hostOf = async (forwarded: string) => {
      const app = proxyFix((request) => new Response(request.headers.get('host')), { host: 1 });
      const { request, context } = requestFromEnviron({ REQUEST_METHOD: 'GET', HTTP_HOST: 'backend', HTTP_X_FORWARDED_HOST: forwarded, PATH_INFO: '/' }, null);
      return (await app(request, context)).text();
    };
    expect(await hostOf('EXAMPLE.test')).toBe('EXAMPLE.test');
    expect(await hostOf('example.test.')).toBe('example.test.');
    expect(await hostOf('[::1]:8080')).toBe('[::1]:8080');
    expect(await hostOf('example.test:80')).toBe('example.test'); // the URL form: the scheme's default port left out
    expect(await hostOf('bad host/x')).toBe('backend');
    // Answers are remembered per value (a bounded cache): asked again, and after
    // more distinct hosts than the cache holds, each value keeps its own answer.
    for (let i = 0; i < 300; i++) expect(await hostOf(`h${i}.example:81`)).toBe(`h${i}.example:81`);
    expect(await hostOf('bad host/x')).toBe('backend');
    expect(await hostOf('example.test:80')).toBe('example.test');
    expect(await hostOf('EXAMPLE.test')).toBe('EXAMPLE.test');
  });

  it('takes the Nth value from the right and ignores a header with too few hops', () => {
    expect(trustedValue('a, b, c', 2)).toBe('b');
    expect(trustedValue('a', 2)).toBeUndefined();
    expect(trustedValue(null, 1)).toBeUndefined();
    expect(trustedValue('a', 0)).toBeUndefined();
    expect(trustedValue(' a ', 1)).toBe('a');
    expect(trustedValue(' ', 1)).toBeUndefined();
    expect(trustedValue('a, ', 1)).toBeUndefined();
  });

  it('reads RFC 7239 Forwarded, including quoted IPv6 with a port', async () => {
    expect(parseForwarded('for=192.0.2.60;proto=http;by=203.0.113.43, for="[2001:db8:cafe::17]:4711";proto=https;host="a.example"'))
      .toEqual([{ for: '192.0.2.60', proto: 'http' }, { for: '[2001:db8:cafe::17]:4711', proto: 'https', host: 'a.example' }]);
    const out = await call(proxyFix(inspect, { forwarded: 1 }), {
      HTTP_HOST: 'backend', PATH_INFO: '/p', HTTP_FORWARDED: 'for=192.0.2.60, for="[2001:db8:cafe::17]:4711";proto=https;host=a.example',
    });
    expect(out).toMatchObject({ remoteAddr: '2001:db8:cafe::17', url: 'https://a.example/p' });
  });

  it('a prefix does not cut into a path segment', async () => {
    const out = await call(proxyFix(inspect, { prefix: 1 }), { HTTP_X_FORWARDED_PREFIX: '/your', PATH_INFO: '/yourapplication/x' });
    expect(out).toMatchObject({ scriptName: '/your', pathInfo: '/yourapplication/x' });
  });

  it('parses the CLI trust spec and rejects unknown names', () => {
    expect(parseProxyTrust('for=1,proto=1,host,prefix=2')).toEqual({ for: 1, proto: 1, host: 1, prefix: 2 });
    expect(() => parseProxyTrust('x-for=1')).toThrow(/unknown header/);
    expect(() => parseProxyTrust('for=a')).toThrow(/whole number/);
  });

  it('passes the body through a rebuilt request', async () => {
    const app = proxyFix(async (request: Request, _ctx: TsgiContext) => new Response(await request.text()), { proto: 1 });
    const { request, context } = requestFromEnviron(
      { REQUEST_METHOD: 'POST', HTTP_HOST: 'h', HTTP_X_FORWARDED_PROTO: 'https', CONTENT_LENGTH: '3' },
      async function* () { yield new TextEncoder().encode('abc'); },
    );
    expect(await (await app(request, context)).text()).toBe('abc');
  });
});

describe('hideMount', () => {
  const variables = (target: string, scriptName: string, pathInfo: string) => ({
    REQUEST_METHOD: 'GET', SERVER_NAME: 'backend', SERVER_PORT: '80', HTTP_HOST: 'public.example', REQUEST_URI: target, SCRIPT_NAME: scriptName, PATH_INFO: pathInfo,
  });
  async function answer(app: TsgiApp, target: string, scriptName: string, pathInfo: string) {
    const { request, context } = requestFromEnviron(variables(target, scriptName, pathInfo), null);
    return hideMount(app)(request, context);
  }

  it('takes the mount out of the target as the client wrote it, keeping its encoding and the query', () => {
    expect(targetBelowMount(variables('/m/a%2Fb?x=%20', '/m', '/a/b'), '/m', '/a/b')).toBe('/a%2Fb?x=%20');
    expect(targetBelowMount(variables('/m?x', '/m', ''), '/m', '')).toBe('/?x');
    expect(targetBelowMount(variables('http://h/m/x', '/m', '/x'), '/m', '/x')).toBe('/x');
  });

  it('rebuilds the target from PATH_INFO when the client spelt the mount otherwise', () => {
    expect(targetBelowMount(variables('/team-1/app%2Ev2/a%20b?q', '/team-1/app.v2', '/a b'), '/team-1/app.v2', '/a b')).toBe('/a%20b?q');
    expect(targetBelowMount(variables('/x/../m/y', '/m', '/y'), '/m', '/y')).toBe('/y');
    expect(targetBelowMount(variables('/m/../m/y?q', '/m', '/y'), '/m', '/y'), 'a dot segment climbing over the mount').toBe('/y?q');
    expect(targetBelowMount(variables('/m/a/%2E%2E/y', '/m', '/y'), '/m', '/y')).toBe('/y');
  });

  it('keeps ctx as the server described the request: scriptName, pathInfo and the raw REQUEST_URI', async () => {
    const res = await answer((request, ctx) => Response.json({ url: request.url, scriptName: ctx.scriptName, pathInfo: ctx.pathInfo, uri: ctx.environ.REQUEST_URI }),
      '/m/x?y=1', '/m', '/x');
    expect(await res.json()).toEqual({ url: 'http://public.example/x?y=1', scriptName: '/m', pathInfo: '/x', uri: '/m/x?y=1' });
  });

  it('works without REQUEST_URI (the URL is then made from SCRIPT_NAME and PATH_INFO)', async () => {
    const { request, context } = requestFromEnviron({ REQUEST_METHOD: 'GET', HTTP_HOST: 'h', SCRIPT_NAME: '/m', PATH_INFO: '/x' }, null);
    const res = await hideMount((r) => new Response(r.url))(request, context);
    expect(await res.text()).toBe('http://h/x');
  });

  it('maps root-relative and same-origin Location and Content-Location into the mount, and leaves the rest', async () => {
    const cases: Array<[string, string]> = [
      ['/hello?a=1', '/m/hello?a=1'],
      ['/', '/m/'],
      ['http://public.example/x#f', 'http://public.example/m/x#f'],
      ['https://public.example/x', 'https://public.example/x'],
      ['http://other.example/x', 'http://other.example/x'],
      ['//other.example/x', '//other.example/x'],
      ['relative/x', 'relative/x'],
    ];
    for (const [sent, expected] of cases) {
      const res = await answer(() => new Response(null, { status: 302, headers: { location: sent, 'content-location': sent } }), '/m/x', '/m', '/x');
      expect([res.headers.get('location'), res.headers.get('content-location')], sent).toEqual([expected, expected]);
    }
  });

  it('rewrites a Response.redirect(), whose headers are immutable, keeping status and body', async () => {
    const res = await answer((request) => Response.redirect(new URL('/there', request.url), 301), '/a/b/x', '/a/b', '/x');
    expect([res.status, res.headers.get('location')]).toEqual([301, 'http://public.example/a/b/there']);
  });

  it('maps cookie paths like ProxyPassReverseCookiePath: "/" becomes the mount', async () => {
    const res = await answer(() => {
      const headers = new Headers();
      headers.append('set-cookie', 'a=1; Path=/; HttpOnly');
      headers.append('set-cookie', 'b=2; path=/admin');
      headers.append('set-cookie', 'c=3; Max-Age=60');
      return new Response('ok', { headers });
    }, '/m/x', '/m', '/x');
    expect(res.headers.getSetCookie()).toEqual(['a=1; Path=/m; HttpOnly', 'b=2; path=/m/admin', 'c=3; Max-Age=60']);
    expect(await res.text()).toBe('ok');
  });

  it('is a pass-through at the root mount and for answers with nothing to map', async () => {
    const response = new Response('x', { headers: { location: '/y' } });
    const { request, context } = requestFromEnviron(variables('/x', '', '/x'), null);
    expect(await hideMount(() => response)(request, context)).toBe(response);
    const plain = new Response('x');
    expect(await answer(() => plain, '/m/x', '/m', '/x')).toBe(plain);
  });
});

describe('holdForSpawn', () => {
  it('answers 204 without calling the app when the server sets TSGI_HOLD_MS, and calls it otherwise', async () => {
    let called = 0;
    const app = holdForSpawn(() => { called++; return new Response('app'); });
    const held = requestFromEnviron({ REQUEST_METHOD: 'GET', PATH_INFO: '/', TSGI_HOLD_MS: '5' }, null);
    expect((await app(held.request, held.context)).status).toBe(204);
    expect(called).toBe(0);
    const plain = requestFromEnviron({ REQUEST_METHOD: 'GET', PATH_INFO: '/', HTTP_TSGI_HOLD_MS: '5000' }, null);
    const answer = app(plain.request, plain.context);
    // The app's own answer, as it gave it: a synchronous app stays synchronous (no promise, no deadline).
    expect(answer).toBeInstanceOf(Response);
    expect(await (answer as Response).text()).toBe('app');
    expect(called).toBe(1);
  });
});
