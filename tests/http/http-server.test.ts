import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorBody } from '../../gateway/errors.ts';
import { createHttpServer, type HttpServer } from '../../gateway/http/server.ts';
import { bigProgress, httpAppEvents, httpFixtureApp } from '../fixtures/http-app.ts';
import { parseResponse } from '../integration/raw-http.ts';

const BODY_LIMIT = 64 * 1024;

let server: HttpServer;
let base: string;
let port: number;
let requestsDone = 0;

beforeAll(async () => {
  server = createHttpServer(httpFixtureApp, { bodyLimit: BODY_LIMIT, onRequestDone: () => requestsDone++, log: (line) => logLines.push(line) });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

interface RawResponse {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/** node:http's client sends `path` exactly as given (supertest's URL parsing would resolve dot segments first). */
function rawGet(path: string, options: { method?: string; headers?: Record<string, string>; body?: Buffer[] } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    for (const chunk of options.body ?? []) req.write(chunk);
    req.end();
  });
}

function environOf(response: RawResponse) {
  return JSON.parse(response.body.toString()) as {
    environ: Record<string, string>;
    pathInfo: string;
    scriptName: string;
    url: string;
    headers: Array<[string, string]>;
  };
}

/** The server's log lines (its injected logger), so tests read what it reported without touching process.stderr. */
const logLines: string[] = [];

/** What the server logged while `action` ran. */
async function loggedDuring<T>(action: () => Promise<T>): Promise<{ result: T; logged: string }> {
  const before = logLines.length;
  const result = await action();
  return { result, logged: logLines.slice(before).join('\n') };
}

describe('environ mapping', () => {
  it('decodes PATH_INFO (%2F, UTF-8, dot segments, double slashes) and keeps REQUEST_URI and QUERY_STRING raw', async () => {
    const target = '/environ/caf%C3%A9/a%2Fb/x/../y//z/./%2e%2e/w?q=caf%C3%A9&x=%2F';
    const response = await rawGet(target);
    expect(response.status).toBe(200);
    const seen = environOf(response);
    expect(seen.environ.PATH_INFO).toBe('/environ/café/a/b/y/w');
    expect(seen.pathInfo).toBe('/environ/café/a/b/y/w');
    expect(seen.environ.REQUEST_URI).toBe(target);
    expect(seen.environ.QUERY_STRING).toBe('q=caf%C3%A9&x=%2F');
    expect(seen.environ.SCRIPT_NAME).toBe('');
    expect(seen.scriptName).toBe('');
    // The URL the app gets is the raw target resolved by WHATWG URL rules, as in every transport
    // (the translator's job): encoding kept, %2F not a separator, "x/.." and "." removed, "%2e%2e"
    // a dot segment too (it removes "z"), the empty segment of "//" kept.
    expect(seen.url).toBe(`http://127.0.0.1:${port}/environ/caf%C3%A9/a%2Fb/y//w?q=caf%C3%A9&x=%2F`);
    expect(seen.environ.REMOTE_ADDR).toBe('127.0.0.1');
    expect(seen.environ.SERVER_NAME).toBe('127.0.0.1');
    expect(seen.environ.SERVER_PORT).toBe(String(port));
    expect(seen.environ.SERVER_PROTOCOL).toBe('HTTP/1.1');
    expect(seen.environ).not.toHaveProperty('HTTPS');
  });

  it('decodes an encoded slash that forms a route', async () => {
    const response = await rawGet('/environ%2Fsub');
    expect(response.status).toBe(200);
    expect(environOf(response).pathInfo).toBe('/environ/sub');
    expect(environOf(response).environ.REQUEST_URI).toBe('/environ%2Fsub');
  });

  it('drops headers with underscores and the Proxy header', async () => {
    const response = await request(base)
      .get('/environ')
      // After the real one, so that a spoofed value would win if it got through.
      .set('X-Forwarded-For', '10.0.0.1')
      .set('X_Forwarded_For', '6.6.6.6')
      .set('Proxy', 'http://evil.test:3128')
      .set('X-Custom', 'kept');
    expect(response.status).toBe(200);
    const { environ, headers } = response.body as { environ: Record<string, string>; headers: Array<[string, string]> };
    expect(environ.HTTP_X_FORWARDED_FOR).toBe('10.0.0.1');
    expect(environ).not.toHaveProperty('HTTP_PROXY');
    expect(environ.HTTP_X_CUSTOM).toBe('kept');
    const names = headers.map(([name]) => name);
    expect(names).not.toContain('proxy');
    expect(names).not.toContain('x_forwarded_for');
    expect(headers).toContainEqual(['x-forwarded-for', '10.0.0.1']);
  });

  it('answers 400 with the fixed body for a target above the root', async () => {
    const response = await rawGet('/a/../../etc/passwd');
    expect(response.status).toBe(400);
    expect(response.body.toString()).toBe(errorBody(400));
  });
});

describe('request bodies', () => {
  it('passes a POST body through', async () => {
    const body = Buffer.alloc(40_000, 'x');
    const response = await request(base).post('/body').set('content-type', 'application/octet-stream').send(body);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      length: body.byteLength,
      sha256: createHash('sha256').update(body).digest('hex'),
      contentLength: String(body.byteLength),
    });
  });

  it('reads a chunked upload without Content-Length to its end', async () => {
    const parts = [Buffer.from('first part,'), Buffer.alloc(20_000, 'y'), Buffer.from(',last')];
    const whole = Buffer.concat(parts);
    const response = await rawGet('/body', { method: 'POST', headers: { 'transfer-encoding': 'chunked' }, body: parts });
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body.toString())).toEqual({
      length: whole.byteLength,
      sha256: createHash('sha256').update(whole).digest('hex'),
      contentLength: null,
    });
  });

  it('answers 413 with the gateway body when Content-Length is over the limit', async () => {
    const response = await request(base).post('/body').send(Buffer.alloc(BODY_LIMIT + 1, 'z'));
    expect(response.status).toBe(413);
    expect(response.text).toBe(errorBody(413));
  });

  it('answers 413 when a chunked upload grows over the limit, and closes the connection', async () => {
    const parts = Array.from({ length: 4 }, () => Buffer.alloc(BODY_LIMIT / 2, 'w'));
    const response = await rawGet('/body', { method: 'POST', headers: { 'transfer-encoding': 'chunked' }, body: parts });
    expect(response.status).toBe(413);
    expect(response.body.toString()).toBe(errorBody(413));
    expect(response.headers.connection).toBe('close');
  });
});

describe('responses', () => {
  it('HEAD sends the headers without the body', async () => {
    const response = await rawGet('/hello', { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(response.headers['content-length']).toBe('14');
    expect(response.body.byteLength).toBe(0);
    const get = await rawGet('/hello');
    expect(get.body.toString()).toBe('Hello, World!\n');
  });

  it('keeps several Set-Cookie headers', async () => {
    const response = await rawGet('/cookies');
    expect(response.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; Path=/; HttpOnly']);
  });

  it('streams a body without Content-Length as chunked', async () => {
    const response = await rawGet('/stream?chunks=4');
    expect(response.headers['transfer-encoding']).toBe('chunked');
    expect(response.headers['content-length']).toBeUndefined();
    expect(response.body.toString()).toBe('chunk 0\nchunk 1\nchunk 2\nchunk 3\n');
  });

  it('waits for the client to read (backpressure) and delivers every byte', async () => {
    const total = 64 * 1024 * 1024;
    const req = httpRequest({ host: '127.0.0.1', port, path: '/big?mib=64', agent: false });
    req.end();
    const [res] = (await once(req, 'response')) as [IncomingMessage];
    res.pause();
    await new Promise((resolve) => setTimeout(resolve, 400));
    // Socket buffers hold a few MiB; without backpressure the app would have produced all 64.
    const producedWhilePaused = bigProgress.produced;
    expect(producedWhilePaused).toBeLessThan(total / 2);
    let received = 0;
    res.on('data', (chunk: Buffer) => (received += chunk.byteLength));
    res.resume();
    await once(res, 'end');
    expect(received).toBe(total);
  });

  it('a throwing handler gives the fixed 500 and its stack in the log', async () => {
    const { result, logged } = await loggedDuring(() => rawGet('/error'));
    expect(result.status).toBe(500);
    expect(result.body.toString()).toBe(errorBody(500));
    expect(logged).toContain('the handler failed on purpose');
    expect(logged).toMatch(/at .*http-app\.ts/);
  });

  it('a body that fails after the head is sent truncates the response visibly', async () => {
    // The bytes on the wire, read with a plain socket. First the 200 head and the two chunks'
    // data the app sent (node:http may frame them as one chunk or two: Node 24.22 joins writes of
    // one tick); only then does its stream fail (the fixture waits for 'fail-broken-stream'), and
    // the connection must close without the last-chunk ("0\r\n\r\n", RFC 9112 section 7.1), so
    // no client can take the body for complete. Connection: close, so that a complete response
    // would end in a close too.
    const sentBeforeFailure = 'partial\npartial\n';
    const { result, logged } = await loggedDuring(() => new Promise<{ beforeFailure: string; wire: string }>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      let wire = '';
      let beforeFailure: string | null = null;
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no 200 head and two chunks within 5 s; got ${JSON.stringify(wire)}`));
      }, 5000);
      socket.on('data', (chunk: Buffer) => {
        wire += chunk.toString('latin1');
        if (beforeFailure === null && wire.includes('\r\n\r\n') && isTruncatedAfter(wire, sentBeforeFailure)) {
          beforeFailure = wire;
          httpAppEvents.emit('fail-broken-stream');
        }
      });
      socket.on('error', reject);
      socket.on('close', () => {
        clearTimeout(timer);
        if (beforeFailure === null) reject(new Error(`closed before the 200 head and two chunks; got ${JSON.stringify(wire)}`));
        else resolve({ beforeFailure, wire });
      });
      socket.write('GET /broken-stream HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    }));
    const headEnd = result.beforeFailure.indexOf('\r\n\r\n');
    const head = result.beforeFailure.slice(0, headEnd).split('\r\n');
    expect(head[0]).toBe('HTTP/1.1 200 OK');
    expect(head).toContain('Transfer-Encoding: chunked');
    expect(head.some((line) => /^content-length:/i.test(line))).toBe(false);
    const response = parseResponse('GET', Buffer.from(result.beforeFailure, 'latin1'));
    expect(response.framing).toBe('chunked');
    expect(response.body.toString('latin1')).toBe(sentBeforeFailure);
    expect(response.problems).toEqual([MISSING_LAST_CHUNK]);
    // Then the truncation: the connection closed and nothing came after those chunks, no last-chunk.
    expect(result.wire).toBe(result.beforeFailure);
    expect(logged).toContain('tsgi: response body failed after the head was sent: ');
    expect(logged).toContain('the body failed half way');
  });
});

/** What raw-http's parser reports for a chunked body whose complete chunks end without the last-chunk. */
const MISSING_LAST_CHUNK = 'chunked body ends without the last (zero-length) chunk';

/** Whether `wire` is a chunked response whose complete chunks carry exactly `data`, the last-chunk not (yet) sent. */
function isTruncatedAfter(wire: string, data: string): boolean {
  const response = parseResponse('GET', Buffer.from(wire, 'latin1'));
  return response.body.toString('latin1') === data && response.problems.join('\n') === MISSING_LAST_CHUNK;
}

describe('connections', () => {
  it('fires ctx.signal when the client disconnects before the response', async () => {
    const aborted = once(httpAppEvents, 'aborted');
    const req = httpRequest({ host: '127.0.0.1', port, path: '/hang?id=1', agent: false });
    req.on('error', () => {});
    req.end();
    await new Promise((resolve) => setTimeout(resolve, 150));
    req.destroy();
    const [uri] = await Promise.race([
      aborted,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('signal did not fire')), 3000)),
    ]);
    expect(uri).toBe('/hang?id=1');
  });

  it('serves several requests on one keep-alive connection and counts them', async () => {
    const before = requestsDone;
    const agent = request.agent(base);
    for (let i = 0; i < 3; i++) {
      const response = await agent.get('/hello');
      expect(response.text).toBe('Hello, World!\n');
    }
    expect(requestsDone - before).toBe(3);
  });
});

/** Writes `data` on a fresh connection and collects what comes back until the server closes it (or `ms` pass). */
async function exchange(data: string | Buffer, options: { port?: number; ms?: number } = {}): Promise<{ text: string; closedByServer: boolean; elapsedMs: number }> {
  const started = Date.now();
  const socket = connect(options.port ?? port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write(data);
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  const closed = once(socket, 'close').then(() => true);
  const closedByServer = await Promise.race([closed, new Promise<false>((resolve) => setTimeout(() => resolve(false), options.ms ?? 3000))]);
  socket.destroy();
  return { text: Buffer.concat(chunks).toString('latin1'), closedByServer, elapsedMs: Date.now() - started };
}

/** Status lines of every response in `text`, in order. */
function statusLines(text: string): string[] {
  return text.match(/HTTP\/1\.1 \d{3} [^\r]*/g) ?? [];
}

describe('the HTTP/1.1 connection (raw sockets)', () => {
  it('answers pipelined requests in order, the last one closing', async () => {
    const { text, closedByServer } = await exchange(
      'GET /hello HTTP/1.1\r\nHost: t\r\n\r\n'
      + 'POST /body HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nabcde'
      + 'GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n',
    );
    expect(statusLines(text)).toEqual(['HTTP/1.1 200 OK', 'HTTP/1.1 200 OK', 'HTTP/1.1 200 OK']);
    const [first, second, third] = text.split(/(?=HTTP\/1\.1 )/);
    expect(first!.endsWith('\r\n\r\nHello, World!\n')).toBe(true);
    expect(second).toContain('"length":5,');
    expect(third!.endsWith('\r\n\r\nHello, World!\n')).toBe(true);
    expect(closedByServer).toBe(true);
  });

  it('ignores empty lines before a request line (RFC 9112 section 2.2)', async () => {
    const { text } = await exchange('\r\n\r\nGET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n');
    expect(statusLines(text)).toEqual(['HTTP/1.1 200 OK']);
  });

  it('keeps the connection after a small body the app never read, and serves the next request', async () => {
    const { text } = await exchange(
      'POST /hello HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n0123456789'
      + 'GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n',
    );
    expect(statusLines(text)).toEqual(['HTTP/1.1 200 OK', 'HTTP/1.1 200 OK']);
  });

  it('closes after a body over the limit that nobody read, instead of reading it all away', async () => {
    const { text, closedByServer } = await exchange(`POST /hello HTTP/1.1\r\nHost: t\r\nContent-Length: ${10 * 1024 * 1024}\r\n\r\n${'x'.repeat(1000)}`);
    expect(statusLines(text)).toEqual(['HTTP/1.1 413 Payload Too Large']);
    expect(text).toMatch(/\r\nConnection: close\r\n/i);
    expect(closedByServer).toBe(true);
  });

  it('ends a streamed response to an HTTP/1.0 client with the connection, not with chunks', async () => {
    const { text, closedByServer } = await exchange('GET /stream?chunks=3 HTTP/1.0\r\n\r\n');
    expect(text).not.toMatch(/transfer-encoding/i);
    expect(text.endsWith('\r\n\r\nchunk 0\nchunk 1\nchunk 2\n')).toBe(true);
    expect(closedByServer).toBe(true);
  });

  it('keeps an HTTP/1.0 connection that asks for keep-alive, and says so', async () => {
    const { text } = await exchange('GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /hello HTTP/1.0\r\n\r\n');
    expect(statusLines(text)).toEqual(['HTTP/1.1 200 OK', 'HTTP/1.1 200 OK']);
    expect(text).toMatch(/\r\nConnection: keep-alive\r\n/);
  });

  it('sends 100 Continue only when the app reads the body, then the answer', async () => {
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write('POST /body HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n');
    const [first] = (await once(socket, 'data')) as [Buffer];
    expect(first.toString('latin1')).toBe('HTTP/1.1 100 Continue\r\n\r\n');
    socket.write('xyz');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    await once(socket, 'close');
    const text = Buffer.concat(chunks).toString('latin1');
    expect(statusLines(text)).toEqual(['HTTP/1.1 200 OK']);
    expect(text).toContain('"length":3,');
  });

  const refusals: Array<[string, string, string]> = [
    ['a bare LF line ending', 'GET /hello HTTP/1.1\nHost: t\n\n', 'HTTP/1.1 400 Bad Request'],
    ['Content-Length with Transfer-Encoding', 'POST /body HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 'HTTP/1.1 400 Bad Request'],
    ['an unknown transfer coding', 'POST /body HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n', 'HTTP/1.1 501 Not Implemented'],
    ['HTTP/2.0 in the request line', 'GET /hello HTTP/2.0\r\nHost: t\r\n\r\n', 'HTTP/1.1 505 HTTP Version Not Supported'],
    ['a head over 16 KiB', `GET /hello HTTP/1.1\r\nHost: t\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`, 'HTTP/1.1 431 Request Header Fields Too Large'],
    ['a malformed chunk size', 'POST /body HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3x\r\nabc\r\n0\r\n\r\n', 'HTTP/1.1 400 Bad Request'],
  ];
  for (const [what, data, status] of refusals) {
    it(`refuses ${what} with the fixed body and closes the connection`, async () => {
      const { result: { text, closedByServer }, logged } = await loggedDuring(() => exchange(data));
      expect(statusLines(text)).toEqual([status]);
      const code = Number(status.split(' ')[1]);
      expect(text.endsWith(`\r\n\r\n${errorBody(code)}`)).toBe(true);
      expect(closedByServer).toBe(true);
      expect(logged).toContain(`tsgi: ${code} `);
    });
  }
});

describe('the HTTP/1.1 connection: timeouts', () => {
  let timed: HttpServer;
  let timedPort: number;

  beforeAll(async () => {
    timed = createHttpServer(httpFixtureApp, { headersTimeout: 1500, keepAliveTimeout: 1000, log: () => {} });
    timed.listen(0, '127.0.0.1');
    await once(timed, 'listening');
    timedPort = (timed.address() as AddressInfo).port;
  });

  afterAll(async () => {
    timed.closeAllConnections();
    await new Promise<void>((resolve) => timed.close(() => resolve()));
  });

  it('answers 408 and closes when the head does not arrive within headersTimeout', async () => {
    const { text, closedByServer, elapsedMs } = await exchange('GET /hello HTTP/1.1\r\nHost: t\r\n', { port: timedPort, ms: 5000 });
    expect(statusLines(text)).toEqual(['HTTP/1.1 408 Request Timeout']);
    expect(closedByServer).toBe(true);
    // Checked once a second: between the timeout and a second after it.
    expect(elapsedMs).toBeGreaterThanOrEqual(1500);
    expect(elapsedMs).toBeLessThan(4000);
  });

  it('closes an idle kept connection after keepAliveTimeout, and says the timeout in Keep-Alive', async () => {
    const { text, closedByServer, elapsedMs } = await exchange('GET /hello HTTP/1.1\r\nHost: t\r\n\r\n', { port: timedPort, ms: 5000 });
    expect(statusLines(text)).toEqual(['HTTP/1.1 200 OK']);
    expect(text).toMatch(/\r\nKeep-Alive: timeout=1\r\n/);
    expect(closedByServer).toBe(true);
    expect(elapsedMs).toBeGreaterThanOrEqual(1000);
    expect(elapsedMs).toBeLessThan(4000);
  });
});
