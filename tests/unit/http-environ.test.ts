import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeRequestPath,
  environFromIncoming,
  headerVariable,
  InvalidRequestTarget,
  splitRequestTarget,
} from '../../gateway/http/environ.ts';

describe('decodeRequestPath: nginx $uri normalisation', () => {
  // Each expectation was measured against nginx 1.22 (`return 200 $uri`).
  const cases: Array<[string, string]> = [
    ['/', '/'],
    ['/a/b', '/a/b'],
    ['/a//b', '/a/b'],
    ['//a', '/a'],
    ['/a/./b', '/a/b'],
    ['/a/../b', '/b'],
    ['/a/b/..', '/a/'],
    ['/a/b/.', '/a/b/'],
    ['/a/%2e%2e/b', '/b'],
    ['/a/%2e/b', '/a/b'],
    ['/%2e', '/'],
    ['/a%2Fb', '/a/b'],
    ['/a%2F%2Fb', '/a/b'],
    ['/a%2f%2f', '/a/'],
    ['/a%2F..%2Fb', '/b'],
    ['/a/.%2F../b', '/b'],
    ['/a/b/%2e%2e/', '/a/'],
    ['/a/b/../../c', '/c'],
    ['/%7e/caf%C3%A9', '/~/café'],
    ['/a+b', '/a+b'],
    ['/a;b', '/a;b'],
    ['/a\\b', '/a\\b'],
    ['/a/.b', '/a/.b'],
    ['/a/..b', '/a/..b'],
    ['/a/...', '/a/...'],
    ['/a/b/', '/a/b/'],
    ['/a%20b', '/a b'],
    ['/a/b%3Fc', '/a/b?c'],
    ['/a%25b', '/a%b'],
    ['/a%25%32%46b', '/a%2Fb'], // decoded once, never twice
    ['/a%ffb', '/a\uFFFDb'], // not UTF-8: replacement character, as a CGI environment gets it
  ];
  it.each(cases)('%s -> %s', (raw, expected) => {
    expect(decodeRequestPath(raw)).toBe(expected);
  });

  const rejected = ['/..', '/../a', '/.%2e/x', '/a/b/../../..', '/a%zz', '/a%2', '/a%00b', 'x/y', ''];
  it.each(rejected)('%s is rejected (nginx answers 400)', (raw) => {
    expect(() => decodeRequestPath(raw)).toThrow(InvalidRequestTarget);
  });

  it('reads raw non-ASCII bytes (latin1 from node:http) as UTF-8', () => {
    expect(decodeRequestPath(Buffer.from('/café', 'utf8').toString('latin1'))).toBe('/café');
  });
});

describe('splitRequestTarget', () => {
  it('splits origin-form at the first "?" and keeps the query raw', () => {
    expect(splitRequestTarget('/a/b?x=1&y=%2F?z')).toEqual({ path: '/a/b', query: 'x=1&y=%2F?z' });
    expect(splitRequestTarget('/a')).toEqual({ path: '/a', query: '' });
    expect(splitRequestTarget('/a?')).toEqual({ path: '/a', query: '' });
  });
  it('drops a fragment', () => {
    expect(splitRequestTarget('/a/b?q=1#frag')).toEqual({ path: '/a/b', query: 'q=1' });
  });
  it('takes the path of an absolute-form target', () => {
    expect(splitRequestTarget('http://h:8080/x//y?q')).toEqual({ path: '/x//y', query: 'q' });
    expect(splitRequestTarget('http://h')).toEqual({ path: '/', query: '' });
  });
  it('rejects asterisk-form and relative targets', () => {
    expect(() => splitRequestTarget('*')).toThrow(InvalidRequestTarget);
    expect(() => splitRequestTarget('a/b')).toThrow(InvalidRequestTarget);
  });
});

describe('headerVariable', () => {
  it('maps names to HTTP_* and drops what a web server drops', () => {
    expect(headerVariable('x-forwarded-for')).toBe('HTTP_X_FORWARDED_FOR');
    expect(headerVariable('host')).toBe('HTTP_HOST');
    expect(headerVariable('x_forwarded_for')).toBeUndefined();
    expect(headerVariable('proxy')).toBeUndefined();
    expect(headerVariable('content-type')).toBeUndefined();
    expect(headerVariable('content-length')).toBeUndefined();
  });
});

describe('environFromIncoming over a real socket', () => {
  let server: Server;
  let port: number;
  const seen: Array<Record<string, string> | string> = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      try {
        seen.push(environFromIncoming(req, { serverSoftware: 'test-software' }));
      } catch (error) {
        seen.push((error as Error).name);
      }
      req.resume();
      res.end('ok');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  /** Sends bytes exactly as written (no client library normalising them) and returns what the server saw. */
  async function rawRequest(head: string, body = ''): Promise<Record<string, string> | string> {
    const before = seen.length;
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    socket.end(`${head}\r\n\r\n${body}`);
    socket.resume();
    await once(socket, 'close');
    expect(seen.length).toBe(before + 1);
    return seen[before];
  }

  it('builds the RFC 3875 variables', async () => {
    const env = (await rawRequest('POST /a%2Fb/caf%C3%A9/../x?q=%2F&r=1 HTTP/1.1\r\nHost: example.test:8080\r\nContent-Type: text/plain\r\nContent-Length: 3', 'abc')) as Record<string, string>;
    expect(env).toMatchObject({
      GATEWAY_INTERFACE: 'CGI/1.1',
      SERVER_SOFTWARE: 'test-software',
      SERVER_PROTOCOL: 'HTTP/1.1',
      SERVER_NAME: '127.0.0.1',
      SERVER_PORT: String(port),
      REQUEST_METHOD: 'POST',
      REQUEST_SCHEME: 'http',
      REQUEST_URI: '/a%2Fb/caf%C3%A9/../x?q=%2F&r=1',
      SCRIPT_NAME: '',
      PATH_INFO: '/a/b/x',
      QUERY_STRING: 'q=%2F&r=1',
      REMOTE_ADDR: '127.0.0.1',
      CONTENT_TYPE: 'text/plain',
      CONTENT_LENGTH: '3',
      HTTP_HOST: 'example.test:8080',
    });
    expect(Number(env.REMOTE_PORT)).toBeGreaterThan(0);
    expect(env).not.toHaveProperty('HTTPS');
    expect(env).not.toHaveProperty('HTTP_CONTENT_TYPE');
    expect(env).not.toHaveProperty('HTTP_CONTENT_LENGTH');
  });

  it('drops headers with underscores and the Proxy header, joins repeats like nginx', async () => {
    const env = (await rawRequest(
      'GET / HTTP/1.1\r\nHost: h\r\nX-User: real\r\nX_User: spoofed\r\nProxy: http://evil.test:1\r\n' +
        'Accept: text/html\r\nAccept: text/plain\r\nCookie: a=1\r\nCookie: b=2\r\nX-Empty: ',
    )) as Record<string, string>;
    expect(env.HTTP_X_USER).toBe('real');
    expect(env).not.toHaveProperty('HTTP_PROXY');
    expect(Object.keys(env).filter((k) => k.includes('X_USER'))).toEqual(['HTTP_X_USER']);
    expect(env.HTTP_ACCEPT).toBe('text/html, text/plain');
    expect(env.HTTP_COOKIE).toBe('a=1; b=2');
    expect(env.HTTP_X_EMPTY).toBe('');
    expect(env).not.toHaveProperty('CONTENT_LENGTH');
    expect(env).not.toHaveProperty('CONTENT_TYPE');
  });

  it('keeps an absolute-form target raw in REQUEST_URI and decodes its path', async () => {
    const env = (await rawRequest('GET http://example.test/x//y/%2e%2e/z?k=v HTTP/1.1\r\nHost: example.test')) as Record<string, string>;
    expect(env.REQUEST_URI).toBe('http://example.test/x//y/%2e%2e/z?k=v');
    expect(env.PATH_INFO).toBe('/x/z');
    expect(env.QUERY_STRING).toBe('k=v');
  });

  it('HTTP/1.0 without Host', async () => {
    const env = (await rawRequest('GET /p HTTP/1.0')) as Record<string, string>;
    expect(env.SERVER_PROTOCOL).toBe('HTTP/1.0');
    expect(env).not.toHaveProperty('HTTP_HOST');
  });

  it('throws InvalidRequestTarget for a path above the root', async () => {
    expect(await rawRequest('GET /a/../../etc/passwd HTTP/1.1\r\nHost: h')).toBe('InvalidRequestTarget');
  });
});
