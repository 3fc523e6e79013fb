// The connection state machine over real sockets, driven by the test client so the
// records on the wire are exactly the ones each case needs.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseCgiResponse } from '../../gateway/cgi-response.ts';
import { FastCgiClient } from '../../gateway/fastcgi/client.ts';
import {
  encodeBeginRequestBody,
  encodeNameValuePairs,
  encodeRecord,
  FCGI_AUTHORIZER,
  FCGI_BEGIN_REQUEST,
  FCGI_CANT_MPX_CONN,
  FCGI_END_REQUEST,
  FCGI_MAX_CONTENT_LENGTH,
  FCGI_OVERLOADED,
  FCGI_PARAMS,
  FCGI_REQUEST_COMPLETE,
  FCGI_STDOUT,
  FCGI_UNKNOWN_ROLE,
  FCGI_UNKNOWN_TYPE,
  RecordDecoder,
} from '../../gateway/fastcgi/protocol.ts';
import { serveFastCgi, type FastCgiOptions, type FastCgiServer } from '../../gateway/fastcgi/server.ts';
import { Response as TsgiResponse } from '../../gateway/lazy-response.ts';
import app from '../fixtures/fastcgi-echo-app.ts';
import { waitFor } from '../fixtures/nginx-runner.ts';
import { cgiParams } from '../fixtures/fastcgi-params.ts';

const dir = mkdtempSync(join(tmpdir(), 'fcgi-conn-'));
let socketCounter = 0;
const servers: FastCgiServer[] = [];
const clients: FastCgiClient[] = [];
const logs: string[] = [];

async function start(options: FastCgiOptions = {}): Promise<{ server: FastCgiServer; path: string }> {
  const path = join(dir, `s${socketCounter++}.sock`);
  const server = await serveFastCgi(app, { kind: 'unix', path }, { log: (line) => logs.push(line), ...options });
  servers.push(server);
  return { server, path };
}

async function client(path: string): Promise<FastCgiClient> {
  const c = await FastCgiClient.connect({ path });
  clients.push(c);
  return c;
}

function post(target: string, length: number): Record<string, string> {
  return cgiParams(target, { REQUEST_METHOD: 'POST', CONTENT_LENGTH: String(length), CONTENT_TYPE: 'application/octet-stream' });
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.socket.destroy();
  await Promise.all(servers.splice(0).map((s) => s.close(1000)));
  logs.length = 0;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('FastCGI connection', () => {
  let shared: { server: FastCgiServer; path: string };
  beforeAll(async () => {
    shared = await serveFastCgi(app, { kind: 'unix', path: join(dir, 'shared.sock') }, { log: () => {} })
      .then((server) => ({ server, path: join(dir, 'shared.sock') }));
  });
  afterAll(() => shared.server.close(1000));

  it('answers a GET with a CGI-format head on STDOUT and ends with REQUEST_COMPLETE', async () => {
    const c = await client(shared.path);
    c.begin(1);
    c.params(1, cgiParams('/hello'));
    c.stdin(1, Buffer.alloc(0));
    const result = await c.result(1);
    expect(result.protocolStatus).toBe(FCGI_REQUEST_COMPLETE);
    expect(result.appStatus).toBe(0);
    expect(result.stdout.toString()).toMatch(/^Status: 200 OK\r\n/);
    const response = parseCgiResponse(result.stdout);
    expect(response.body.toString()).toBe('Hello, World!\n');
    expect(response.headers).toContainEqual(['content-type', 'text/plain']);
  });

  it('multiplexes two requests on one connection with interleaved STDIN', async () => {
    const c = await client(shared.path);
    const bodyA = Buffer.alloc(100_000, 'a');
    const bodyB = Buffer.alloc(150_000, 'b');
    c.begin(1, { keepConn: true });
    c.begin(2, { keepConn: true });
    c.params(2, post('/echo/b', bodyB.byteLength));
    c.params(1, post('/echo/a', bodyA.byteLength));
    for (let offset = 0; offset < 150_000; offset += 30_000) {
      if (offset < bodyA.byteLength) c.stdin(1, bodyA.subarray(offset, offset + 30_000));
      c.stdin(2, bodyB.subarray(offset, offset + 30_000));
    }
    c.stdin(2, Buffer.alloc(0));
    c.stdin(1, Buffer.alloc(0));
    const [a, b] = await Promise.all([c.result(1), c.result(2)]);
    const echoA = JSON.parse(parseCgiResponse(a.stdout).body.toString());
    const echoB = JSON.parse(parseCgiResponse(b.stdout).body.toString());
    expect([echoA.pathInfo, echoA.body.length, echoA.body.text.slice(0, 3)]).toEqual(['/echo/a', 100_000, 'aaa']);
    expect([echoB.pathInfo, echoB.body.length, echoB.body.text.slice(0, 3)]).toEqual(['/echo/b', 150_000, 'bbb']);
    expect(c.isClosed).toBe(false);
  });

  it('FCGI_ABORT_REQUEST fires the request signal and ends the request at once', async () => {
    const c = await client(shared.path);
    c.begin(1, { keepConn: true });
    c.params(1, cgiParams('/slow?ms=10000', { HTTP_X_TEST_ID: 'abort-1' }));
    c.stdin(1, Buffer.alloc(0));
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    c.abort(1);
    const result = await c.result(1);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(result.protocolStatus).toBe(FCGI_REQUEST_COMPLETE);
    expect(result.stdout.byteLength).toBe(0);
    // The same connection carries on, and the app saw the abort.
    c.begin(2, { keepConn: true });
    c.params(2, cgiParams('/aborted?id=abort-1'));
    c.stdin(2, Buffer.alloc(0));
    expect(parseCgiResponse((await c.result(2)).stdout).body.toString()).toBe('yes\n');
  });

  it('reuses a request id on a kept-alive connection and gets the second response, not the first one again', async () => {
    // Spec 3.3: once its END_REQUEST is sent, a request id is free for the next request on the connection.
    const c = await client(shared.path);
    c.begin(1, { keepConn: true });
    c.params(1, cgiParams('/hello'));
    c.stdin(1, Buffer.alloc(0));
    const first = await c.result(1);
    expect(first.stdout.toString('latin1')).toBe('Status: 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 14\r\n\r\nHello, World!\n');

    c.begin(1, { keepConn: true });
    c.params(1, cgiParams('/ignore-body'));
    c.stdin(1, Buffer.alloc(0));
    const second = await c.result(1);
    expect(second.protocolStatus).toBe(FCGI_REQUEST_COMPLETE);
    // The whole STDOUT is the second response's: none of the first one's bytes come back.
    expect(second.stdout.toString('latin1')).toBe('Status: 200 OK\r\ncontent-type: text/plain;charset=UTF-8\r\ncontent-length: 8\r\n\r\nignored\n');
    expect(parseCgiResponse(second.stdout).body.toString('latin1')).toBe('ignored\n');
    // Both END_REQUESTs really came on this one connection.
    expect(c.received.filter((r) => r.type === FCGI_END_REQUEST && r.requestId === 1)).toHaveLength(2);
    expect(c.isClosed).toBe(false);
  });

  it('closes after END_REQUEST without FCGI_KEEP_CONN, keeps the connection with it', async () => {
    const closing = await client(shared.path);
    closing.begin(1);
    closing.params(1, cgiParams('/hello'));
    closing.stdin(1, Buffer.alloc(0));
    await closing.result(1);
    await closing.closed;

    const keeping = await client(shared.path);
    for (const id of [1, 2, 3]) {
      keeping.begin(id, { keepConn: true });
      keeping.params(id, cgiParams('/hello'));
      keeping.stdin(id, Buffer.alloc(0));
      expect((await keeping.result(id)).protocolStatus).toBe(FCGI_REQUEST_COMPLETE);
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(keeping.isClosed).toBe(false);
  });

  it('without FCGI_KEEP_CONN closes at once when all is sent and read, without waiting for the web server to hang up', async () => {
    const { server, path } = await start();
    // A peer that never closes its side: only a server that closes by itself lets go of the connection.
    const c = await FastCgiClient.connect({ path, allowHalfOpen: true });
    clients.push(c);
    c.begin(1);
    c.params(1, cgiParams('/hello'));
    c.stdin(1, Buffer.alloc(0));
    expect(parseCgiResponse((await c.result(1)).stdout).body.toString()).toBe('Hello, World!\n');
    await waitFor(async () => server.connections === 0, 'the server to let go of the connection', 1000);
    expect(server.connections).toBe(0);
    // What the web server sees: the end of the stream (its side stays open, as asked).
    await waitFor(async () => c.socket.readableEnded, 'the end of the stream', 1000);
    expect(c.socket.readableEnded).toBe(true);
  });

  it('without FCGI_KEEP_CONN closes at once after a synchronous answer, given while the rest of the request was still unread', async () => {
    // yourapplication's /hello answers synchronously: the answer is written while its empty
    // FCGI_PARAMS record is dispatched, before the FCGI_STDIN record that came in the same chunk.
    const path = join(dir, `s${socketCounter++}.sock`);
    const server = await serveFastCgi(() => new TsgiResponse('at once\n'), { kind: 'unix', path }, { log: (line) => logs.push(line) });
    servers.push(server);
    const c = await FastCgiClient.connect({ path, allowHalfOpen: true });
    clients.push(c);
    // One write for the whole request, as lighttpd and mod_fcgid send it.
    c.socket.cork();
    c.begin(1);
    c.params(1, cgiParams('/hello'));
    c.stdin(1, Buffer.alloc(0));
    c.socket.uncork();
    expect(parseCgiResponse((await c.result(1)).stdout).body.toString()).toBe('at once\n');
    // The peer never closes its side: only a server that saw the STDIN's end closes by itself.
    await waitFor(async () => server.connections === 0, 'the server to let go of the connection', 1000);
    expect(server.connections).toBe(0);
  });

  it('without FCGI_KEEP_CONN and a body the app never read, the whole answer arrives and the close is clean, not a reset', async () => {
    const { server, path } = await start();
    const c = await client(path);
    const errors: string[] = [];
    c.socket.on('error', (error: NodeJS.ErrnoException) => errors.push(String(error.code)));
    const body = Buffer.alloc(1536 * 1024, 'x'); // over the STDIN high-water mark: still on its way when the app answers
    c.begin(1);
    c.params(1, post('/ignore-body', body.byteLength));
    c.stdin(1, body, true);
    const result = await c.result(1);
    expect(result.protocolStatus).toBe(FCGI_REQUEST_COMPLETE);
    expect(parseCgiResponse(result.stdout).body.toString()).toBe('ignored\n');
    await c.closed;
    expect(errors).toEqual([]);
    expect(c.socket.bytesWritten).toBeGreaterThan(body.byteLength);
    await waitFor(async () => server.connections === 0, 'the server to let go of the connection', 1000);
    expect(server.connections).toBe(0);
  });

  it('without FCGI_KEEP_CONN and two requests on the connection, a body still arriving for the first keeps the close clean', async () => {
    const { server, path } = await start();
    // Like a web server, it goes on sending the body it started after the app's half-close.
    const c = await FastCgiClient.connect({ path, allowHalfOpen: true });
    clients.push(c);
    const errors: string[] = [];
    c.socket.on('error', (error: NodeJS.ErrnoException) => errors.push(String(error.code)));
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const chunks = 8;
    // Request 1 is answered before its body (the app never reads it); request 2 ends, with all its
    // input read, while request 1's body is still on its way.
    c.begin(1);
    c.params(1, post('/ignore-body', chunk.byteLength * chunks));
    c.begin(2);
    c.params(2, cgiParams('/slow?ms=50'));
    c.stdin(2, Buffer.alloc(0));
    expect(parseCgiResponse((await c.result(1)).stdout).body.toString()).toBe('ignored\n');
    for (let i = 0; i < chunks; i++) {
      c.stdin(1, chunk);
      await new Promise((r) => setTimeout(r, 25));
    }
    c.stdin(1, Buffer.alloc(0));
    c.socket.end();
    expect(parseCgiResponse((await c.result(2)).stdout).body.toString()).toBe('slow done\n');
    await c.closed;
    expect(errors).toEqual([]);
    expect(c.socket.bytesWritten).toBeGreaterThan(chunk.byteLength * chunks);
    await waitFor(async () => server.connections === 0, 'the server to let go of the connection', 1000);
    expect(server.connections).toBe(0);
  });

  it('answers FCGI_GET_VALUES with only the names asked', async () => {
    const { path } = await start({ maxConns: 7, maxReqs: 9, multiplex: false });
    const c = await client(path);
    c.getValues(['FCGI_MPXS_CONNS', 'NOT_A_VARIABLE', 'toString', 'FCGI_MAX_REQS']);
    expect([...(await c.getValuesResult())]).toEqual([['FCGI_MPXS_CONNS', '0'], ['FCGI_MAX_REQS', '9']]);
    const d = await client(shared.path);
    d.getValues(['FCGI_MAX_CONNS']);
    expect([...(await d.getValuesResult())]).toEqual([['FCGI_MAX_CONNS', '100']]);
    // A second query on the same connection gets its own answer, not the first one again.
    d.getValues(['FCGI_MPXS_CONNS']);
    expect([...(await d.getValuesResult())]).toEqual([['FCGI_MPXS_CONNS', '1']]);
  });

  it('answers an unknown management record type with FCGI_UNKNOWN_TYPE', async () => {
    const c = await client(shared.path);
    c.write(encodeRecord(200, 0, Buffer.from('whatever')));
    const record = await c.waitFor((r) => r.type === FCGI_UNKNOWN_TYPE);
    expect(record?.requestId).toBe(0);
    expect(record?.content[0]).toBe(200);
    expect(c.isClosed).toBe(false);
  });

  it('refuses roles other than Responder with FCGI_UNKNOWN_ROLE', async () => {
    const c = await client(shared.path);
    c.begin(1, { keepConn: true, role: FCGI_AUTHORIZER });
    c.params(1, cgiParams('/hello'));
    expect((await c.result(1)).protocolStatus).toBe(FCGI_UNKNOWN_ROLE);
  });

  it('enforces FCGI_MAX_REQS across connections with FCGI_OVERLOADED', async () => {
    const { server, path } = await start({ maxReqs: 1 });
    const a = await client(path);
    a.begin(1, { keepConn: true });
    a.params(1, cgiParams('/slow?ms=500'));
    a.stdin(1, Buffer.alloc(0));
    await new Promise((r) => setTimeout(r, 50));
    expect(server.activeRequests).toBe(1);
    const b = await client(path);
    b.begin(1, { keepConn: true });
    b.params(1, cgiParams('/hello'));
    expect((await b.result(1)).protocolStatus).toBe(FCGI_OVERLOADED);
    a.begin(2, { keepConn: true });
    expect((await a.result(2)).protocolStatus).toBe(FCGI_OVERLOADED);
    expect(parseCgiResponse((await a.result(1)).stdout).body.toString()).toBe('slow done\n');
    // The slot is free again.
    b.begin(3, { keepConn: true });
    b.params(3, cgiParams('/hello'));
    b.stdin(3, Buffer.alloc(0));
    expect((await b.result(3)).protocolStatus).toBe(FCGI_REQUEST_COMPLETE);
  });

  it('answers a second concurrent request with FCGI_CANT_MPX_CONN when multiplexing is off', async () => {
    const { path } = await start({ multiplex: false });
    const c = await client(path);
    c.begin(1, { keepConn: true });
    c.params(1, cgiParams('/slow?ms=200'));
    c.stdin(1, Buffer.alloc(0));
    c.begin(2, { keepConn: true });
    expect((await c.result(2)).protocolStatus).toBe(FCGI_CANT_MPX_CONN);
    expect((await c.result(1)).protocolStatus).toBe(FCGI_REQUEST_COMPLETE);
  });

  it('closes only the connection whose PARAMS exceed the cap, with one log line', async () => {
    const { path } = await start({ maxParamsBytes: 4096 });
    const good = await client(path);
    good.begin(1, { keepConn: true });
    good.params(1, cgiParams('/slow?ms=300'));
    good.stdin(1, Buffer.alloc(0));
    const bad = await client(path);
    bad.begin(1);
    bad.params(1, cgiParams('/hello', { HTTP_COOKIE: 'c'.repeat(5000) }));
    await bad.closed;
    expect(bad.received.some((r) => r.type === FCGI_END_REQUEST)).toBe(false);
    expect(logs.filter((line) => line.includes('exceed the limit of 4096 bytes'))).toHaveLength(1);
    expect(parseCgiResponse((await good.result(1)).stdout).body.toString()).toBe('slow done\n');
  });

  it('sends the stack of a failing app as FCGI_STDERR on that request, and a 500 on STDOUT', async () => {
    const c = await client(shared.path);
    c.begin(1);
    c.params(1, cgiParams('/error'));
    c.stdin(1, Buffer.alloc(0));
    const result = await c.result(1);
    expect(result.stderr).toContain('fixture failure for FCGI_STDERR');
    expect(parseCgiResponse(result.stdout)).toMatchObject({ status: 500 });
    expect(parseCgiResponse(result.stdout).body.toString()).toBe('500 Internal Server Error\n');
  });

  it('splits a large response into STDOUT records of at most 65535 bytes', async () => {
    const c = await client(shared.path);
    c.begin(1);
    c.params(1, cgiParams('/bytes/300000'));
    c.stdin(1, Buffer.alloc(0));
    const result = await c.result(1);
    const stdoutRecords = result.records.filter((r) => r.type === FCGI_STDOUT);
    expect(Math.max(...stdoutRecords.map((r) => r.content.byteLength))).toBe(FCGI_MAX_CONTENT_LENGTH);
    const body = parseCgiResponse(result.stdout).body;
    expect(body.byteLength).toBe(300_000);
    expect(body.every((byte, i) => byte === i % 251)).toBe(true);
  });

  it('drops the STDIN an app never reads once it has answered, so the connection carries on', async () => {
    const c = await client(shared.path);
    const body = Buffer.alloc(1536 * 1024, 'x'); // under the 2 MiB body limit, over the STDIN high-water mark
    c.begin(1, { keepConn: true });
    c.params(1, post('/ignore-body', body.byteLength));
    c.stdin(1, body, true);
    expect(parseCgiResponse((await c.result(1)).stdout).body.toString()).toBe('ignored\n');
    c.begin(2, { keepConn: true });
    c.params(2, post('/echo', 5));
    c.stdin(2, Buffer.from('hello'), true);
    expect(JSON.parse(parseCgiResponse((await c.result(2)).stdout).body.toString()).body.length).toBe(5);
  });
});

describe('FastCGI backpressure', () => {
  it('does not read STDIN faster than the app consumes it', async () => {
    const { server, path } = await start({ stdinHighWaterMark: 64 * 1024, bodyLimit: 64 * 1024 * 1024 });
    const serverSockets: Socket[] = [];
    server.server.on('connection', (socket) => serverSockets.push(socket));
    const c = await client(path);
    const body = Buffer.alloc(16 * 1024 * 1024, 'y');
    c.begin(1, { keepConn: true });
    c.params(1, post('/slow?ms=800', body.byteLength));
    c.stdin(1, body, true);
    await new Promise((r) => setTimeout(r, 500));
    // The app has not read a byte: the server stopped reading near its high-water mark.
    expect(serverSockets[0]!.bytesRead).toBeLessThan(4 * 1024 * 1024);
    expect(c.socket.writableLength).toBeGreaterThan(8 * 1024 * 1024);
    expect(parseCgiResponse((await c.result(1)).stdout).body.toString()).toBe('slow done\n');
  });

  it('streams a 50 MB response to a client that does not read without buffering it', async () => {
    const { server, path } = await start();
    const serverSockets: Socket[] = [];
    server.server.on('connection', (socket) => serverSockets.push(socket));
    const raw = connect({ path });
    await new Promise((r) => raw.once('connect', r));
    const total = 50 * 1024 * 1024;
    raw.write(Buffer.concat([
      encodeRecord(FCGI_BEGIN_REQUEST, 1, encodeBeginRequestBody(1, 0)),
      encodeRecord(FCGI_PARAMS, 1, encodeNameValuePairs(Object.entries(cgiParams(`/bytes/${total}`)))),
      encodeRecord(FCGI_PARAMS, 1),
      encodeRecord(5, 1),
    ]));
    raw.pause();
    const before = process.memoryUsage();
    let maxWritable = 0;
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 50));
      maxWritable = Math.max(maxWritable, serverSockets[0]!.writableLength);
    }
    const after = process.memoryUsage();
    expect(maxWritable).toBeLessThanOrEqual(16 * 1024 + 65536 + 8);
    expect(serverSockets[0]!.bytesWritten).toBeLessThan(8 * 1024 * 1024);
    expect(after.arrayBuffers - before.arrayBuffers).toBeLessThan(20 * 1024 * 1024);

    // Now read everything: the whole 50 MB arrives, intact, followed by END_REQUEST.
    const decoder = new RecordDecoder();
    let stdoutBytes = 0;
    let ended = false;
    let pattern = true;
    let bodyOffset = -1;
    let headBytes = Buffer.alloc(0);
    await new Promise<void>((resolve, reject) => {
      raw.on('data', (chunk: Buffer) => {
        for (const record of decoder.push(chunk)) {
          if (record.type === FCGI_END_REQUEST) { ended = true; continue; }
          if (record.type !== FCGI_STDOUT) continue;
          let content = record.content;
          if (bodyOffset < 0) {
            headBytes = Buffer.concat([headBytes, content]);
            const split = headBytes.indexOf('\r\n\r\n');
            if (split < 0) continue;
            content = headBytes.subarray(split + 4);
            bodyOffset = 0;
          }
          for (let i = 0; i < content.byteLength; i += 4099) if (content[i] !== (bodyOffset + i) % 251) pattern = false;
          bodyOffset += content.byteLength;
          stdoutBytes += content.byteLength;
        }
      });
      raw.on('close', () => resolve());
      raw.on('error', reject);
      raw.resume();
    });
    expect(ended).toBe(true);
    expect(stdoutBytes).toBe(total);
    expect(pattern).toBe(true);
  }, 60_000);
});

describe('FastCGI server limits and shutdown', () => {
  it('closes connections over FCGI_MAX_CONNS at once', async () => {
    const { path } = await start({ maxConns: 2 });
    const a = await client(path);
    const b = await client(path);
    a.getValues(['FCGI_MAX_CONNS']);
    expect((await a.getValuesResult()).get('FCGI_MAX_CONNS')).toBe('2');
    const c = await client(path);
    await c.closed;
    expect(c.received).toEqual([]);
    expect(logs.some((line) => line.includes('refused a connection'))).toBe(true);
    b.getValues(['FCGI_MAX_REQS']);
    expect((await b.getValuesResult()).get('FCGI_MAX_REQS')).toBe('100');
  });

  it('close() finishes requests in flight, closes idle connections, refuses new ones once its accept queue is empty', async () => {
    const { server, path } = await start();
    const busy = await client(path);
    const idle = await client(path);
    busy.begin(1, { keepConn: true });
    // Longer than the graceful stop's 1 s linger, after which idle connections are closed.
    busy.params(1, cgiParams('/slow?ms=2500'));
    busy.stdin(1, Buffer.alloc(0));
    await new Promise((r) => setTimeout(r, 50));
    const closing = server.close(10_000);
    // What waits in the accept queue is served first (tests/unit/fastcgi-or-cgi.test.ts); a
    // connection after it has stayed empty for a moment is refused.
    await new Promise((r) => setTimeout(r, 100));
    await expect(FastCgiClient.connect({ path })).rejects.toThrow();
    await idle.closed;
    expect(busy.isClosed).toBe(false);
    expect(parseCgiResponse((await busy.result(1)).stdout).body.toString()).toBe('slow done\n');
    // FCGI_KEEP_CONN or not, a stopping server ends the connection after the response.
    await busy.closed;
    expect(await closing).toEqual({ dropped: 0 });
  });

  it('close() still serves a request that arrives on an idle kept-alive connection while it lingers, then closes it', async () => {
    const { server, path } = await start();
    const kept = await client(path);
    kept.begin(1, { keepConn: true });
    kept.params(1, cgiParams('/hello'));
    kept.stdin(1, Buffer.alloc(0));
    await kept.result(1);
    const closing = server.close(10_000);
    // The web server picked this idle connection from its pool just as the stop began.
    kept.begin(2, { keepConn: true });
    kept.params(2, cgiParams('/hello'));
    kept.stdin(2, Buffer.alloc(0));
    const second = await kept.result(2);
    expect(second.protocolStatus).toBe(FCGI_REQUEST_COMPLETE);
    expect(parseCgiResponse(second.stdout).status).toBe(200);
    await kept.closed;
    expect(await closing).toEqual({ dropped: 0 });
  });

  it('close() drops requests still running after its timeout, firing their signals', async () => {
    const { server, path } = await start();
    const stuck = await client(path);
    stuck.begin(1, { keepConn: true });
    stuck.params(1, cgiParams('/slow?ms=10000', { HTTP_X_TEST_ID: 'shutdown-1' }));
    stuck.stdin(1, Buffer.alloc(0));
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    expect(await server.close(200)).toEqual({ dropped: 1 });
    expect(Date.now() - started).toBeLessThan(2000);
    await stuck.closed;
    expect(logs.some((line) => line.includes('shutdown timeout'))).toBe(true);
    expect(server.activeRequests).toBe(0);
    // The app (same module, reached through another server) saw its signal fire.
    const { path: other } = await start();
    const check = await client(other);
    check.begin(1);
    check.params(1, cgiParams('/aborted?id=shutdown-1'));
    check.stdin(1, Buffer.alloc(0));
    expect(parseCgiResponse((await check.result(1)).stdout).body.toString()).toBe('yes\n');
  });
});

describe('FastCGI unix socket file', () => {
  it('replaces a stale socket left by a killed process, and applies socketMode', async () => {
    const path = join(dir, 'stale.sock');
    // A process killed while listening leaves its socket file behind.
    expect(() => execFileSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`], { stdio: 'ignore' }))
      .toThrow(/SIGKILL|Command failed/);
    expect(statSync(path).isSocket()).toBe(true);
    const server = await serveFastCgi(app, { kind: 'unix', path }, { socketMode: 0o660, log: () => {} });
    servers.push(server);
    expect(statSync(path).mode & 0o777).toBe(0o660);
    const c = await client(path);
    c.getValues(['FCGI_MPXS_CONNS']);
    expect((await c.getValuesResult()).get('FCGI_MPXS_CONNS')).toBe('1');
  });

  it('refuses to replace a live socket or a file that is not a socket', async () => {
    const { path } = await start();
    await expect(serveFastCgi(app, { kind: 'unix', path }, { log: () => {} })).rejects.toThrow(/in use/);
    const file = join(dir, 'not-a-socket');
    writeFileSync(file, 'precious');
    await expect(serveFastCgi(app, { kind: 'unix', path: file }, { log: () => {} })).rejects.toThrow(/not a socket/);
  });
});
