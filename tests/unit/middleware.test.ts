import { describe, expect, it } from 'vitest';
import { requestFromEnviron } from '../../gateway/environ.ts';
import { stripScriptName } from '../../gateway/middleware/script-name.ts';
import { lighttpdRootFix } from '../../gateway/middleware/lighttpd-root-fix.ts';
import { mount } from '../../gateway/middleware/mount.ts';
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
  });

  it('takes the Nth value from the right and ignores a header with too few hops', () => {
    expect(trustedValue('a, b, c', 2)).toBe('b');
    expect(trustedValue('a', 2)).toBeUndefined();
    expect(trustedValue(null, 1)).toBeUndefined();
    expect(trustedValue('a', 0)).toBeUndefined();
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
