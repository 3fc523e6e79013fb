/**
 * The harness itself must be able to fail: the raw client flags bad framing
 * from a real (local, misbehaving) socket server, the path oracle resolves
 * what servers resolve, and the identity report names who differs.
 */
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { route, serverPath, type Sent } from './contract.ts';
import { describeDisagreement, normalize, withoutPrefix } from './normalize.ts';
import { exchange, parseResponse, responseEnd, send, type RawResponse } from './raw-http.ts';

/** A TCP server that answers every connection with `reply` once the request head has arrived, then closes. */
let server: Server;
let replies: Map<string, Buffer>;
let port = 0;

beforeAll(async () => {
  replies = new Map();
  server = createServer((socket) => {
    let head = '';
    socket.on('data', (chunk) => {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      const target = head.split(' ')[1]!;
      socket.end(replies.get(target) ?? Buffer.from('HTTP/1.1 500 X\r\n\r\n'));
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function ask(target: string, reply: string, method = 'GET'): Promise<RawResponse> {
  replies.set(target, Buffer.from(reply, 'latin1'));
  return send({ method, target, headers: [['Host', 'example.test']] }, { port });
}

describe('raw client framing checks', () => {
  test('a right Content-Length passes', async () => {
    const res = await ask('/ok', 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc');
    expect({ status: res.status, body: res.body.toString(), problems: res.problems }).toEqual({ status: 200, body: 'abc', problems: [] });
  });
  test('a wrong Content-Length is a problem', async () => {
    const res = await ask('/short', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc');
    expect(res.problems).toEqual(['Content-Length says 5, 3 body bytes arrived']);
  });
  test('a chunked body is de-chunked; a missing last chunk is a problem', async () => {
    const ok = await ask('/chunked', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n');
    expect({ body: ok.body.toString(), problems: ok.problems }).toEqual({ body: 'abcde', problems: [] });
    const cut = await ask('/cut', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n');
    expect(cut.problems).toEqual(['chunked body ends without the last (zero-length) chunk']);
  });
  test('a body after HEAD or 204 is a problem; 100 Continue is skipped', async () => {
    const head = await ask('/head', 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc', 'HEAD');
    expect(head.problems).toEqual(['3 bytes of body after a HEAD 200 answer']);
    const cont = await ask('/continue', 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n');
    expect(cont.status).toBe(201);
  });
});

describe('path oracle', () => {
  test.each([
    ['/a/../echo', '/echo'], ['/./echo', '/echo'], ['/x/%2e%2e/echo', '/echo'], ['/echo/a/..', '/echo/'],
    ['/echo/a%2Fb', '/echo/a/b'], ['//echo', '/echo'], ['/%C3%A9', '/é'], ['/%FF', '/\uFFFD'],
  ])('%s -> %s', (raw, path) => expect(serverPath(Buffer.from(raw), true)).toBe(path));
  test('.. above the root is a 400, or clamped when asked', () => {
    expect(serverPath(Buffer.from('/../etc/passwd'), true)).toBeUndefined();
    expect(serverPath(Buffer.from('/../etc/passwd'), true, true)).toBe('/etc/passwd');
  });
  test('the mount matches whole segments', () => {
    const sent = (target: string): Sent => ({ mount: '/yourapplication', method: 'GET', target: Buffer.from(target), targetText: target, host: 'x', headers: [], body: Buffer.alloc(0) });
    expect(route(sent('/yourapplication'))).toEqual({ kind: 'app', pathInfo: '' });
    expect(route(sent('/yourapplication/x?y'))).toEqual({ kind: 'app', pathInfo: '/x' });
    expect(route(sent('/yourapplicationx/y'))).toEqual({ kind: 'outside' });
    expect(route(sent('/yourapplication/../../x'))).toEqual({ kind: 'bad' });
  });
});

describe('identity report', () => {
  const answer = (status: number, headers: Array<[string, string]>, body: string): RawResponse =>
    ({ status, reason: '', headers, body: Buffer.from(body), framing: 'close', problems: [], firstBodyByteMs: 0, totalMs: 0 });
  test('ignores Date, Server and framing, names the odd mode and the difference', () => {
    const a = normalize(answer(200, [['date', '1'], ['server', 'x'], ['content-type', 'text/plain'], ['content-length', '2']], 'hi'));
    const b = normalize(answer(200, [['server', 'y'], ['transfer-encoding', 'chunked'], ['content-type', 'text/plain']], 'hi'));
    const c = normalize(answer(200, [['content-type', 'text/plain'], ['vary', 'Accept-Encoding']], 'hi'));
    expect(describeDisagreement(new Map([['one', a], ['two', b]]))).toBeUndefined();
    const report = describeDisagreement(new Map([['one', a], ['two', b], ['three', c]]));
    expect(report).toContain('[three] vs [one, two]');
    expect(report).toContain('header vary: "Accept-Encoding" vs (absent)');
  });
  test('swapping the prefix maps cookie paths and URLs', () => {
    const n = withoutPrefix(normalize(answer(302, [['set-cookie', 'a=1; Path=/yourapplication'], ['location', '/yourapplication/hello']], '"url": "http://h/yourapplication/echo"')), '/yourapplication');
    expect(n.headers).toEqual([['location', '/hello'], ['set-cookie', 'a=1; Path=/']]);
    expect(n.body.toString()).toBe('"url": "http://h/echo"');
    const dotted = withoutPrefix(normalize(answer(200, [['set-cookie', 'b=2; Path=/team-1/app.v2; HttpOnly']], '/team-1/app.v2/x /team-1/appXv2')), '/team-1/app.v2');
    expect(dotted.headers).toEqual([['set-cookie', 'b=2; Path=/; HttpOnly']]);
    expect(dotted.body.toString(), 'the "." is no wildcard').toBe('/x /team-1/appXv2');
  });
});

describe('exchange: a kept connection, a closed one, and a smuggled answer tell apart', () => {
  /** A server that answers the first request with `first`, then either closes or answers every later head with `then`. */
  async function withServer(first: string, then: string | null, run: (port: number) => Promise<void>): Promise<void> {
    const srv = createServer((socket) => {
      let buffered = '';
      let answered = 0;
      socket.on('data', (chunk) => {
        buffered += chunk.toString('latin1');
        let end: number;
        while ((end = buffered.indexOf('\r\n\r\n')) !== -1) {
          buffered = buffered.slice(end + 4);
          if (answered++ === 0) {
            socket.write(first);
            if (then === null) socket.end();
          } else if (then !== null) {
            socket.end(then);
          }
        }
      });
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    try {
      await run((srv.address() as { port: number }).port);
    } finally {
      await new Promise<void>((resolve) => srv.close(() => resolve()));
    }
  }
  const request = Buffer.from('GET /x HTTP/1.1\r\nHost: h\r\n\r\n', 'latin1');
  const probe = Buffer.from('GET /hello HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n', 'latin1');
  const answer = (status: number, body: string) => `HTTP/1.1 ${status} X\r\nContent-Length: ${body.length}\r\n\r\n${body}`;

  test('closed: EOF after the answer', () => withServer(answer(400, 'bad\n'), null, async (port) => {
    const x = await exchange(request, probe, { port, method: 'GET' });
    expect({ status: x.response.status, after: x.after }).toEqual({ status: 400, after: 'closed' });
  }));

  test('kept: the probe is answered', () => withServer(answer(200, 'ok\n'), answer(200, 'Hello, World!\n'), async (port) => {
    const x = await exchange(request, probe, { port, method: 'GET' });
    expect(x.after).not.toBe('closed');
    expect(parseResponse('GET', x.after as Buffer).body.toString()).toBe('Hello, World!\n');
  }));

  test('smuggled: a second answer before the probe\'s shows up in `after`', () => withServer(answer(200, 'ok\n') + answer(404, 'smuggled\n'), answer(200, 'Hello, World!\n'), async (port) => {
    const x = await exchange(request, probe, { port, method: 'GET' });
    expect(x.response.status).toBe(200);
    expect(parseResponse('GET', x.after as Buffer).status).toBe(404);
  }));

  test('responseEnd finds the end of a chunked answer and waits for an incomplete one', () => {
    const chunked = Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nNEXT', 'latin1');
    expect(responseEnd('GET', chunked)).toBe(chunked.length - 4);
    expect(responseEnd('GET', chunked.subarray(0, 50))).toBeUndefined();
    expect(responseEnd('HEAD', Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n', 'latin1'))).toBe(38);
  });
});
