/**
 * Guards against the retention the benchmarks found: per-request objects
 * (Request, signal, deadline) kept alive by long-lived things (timers,
 * listeners on kept-alive sockets, registries) grow memory with every
 * request. Real node:http server and client; a real garbage collection.
 */
import { createHook } from 'node:async_hooks';
import { once } from 'node:events';
import { Agent, request as httpRequest } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadlineQueue } from '../../gateway/deadline.ts';
import { DEFAULT_APP_TIMEOUT_MS } from '../../gateway/handler.ts';
import { createHttpServer, type HttpServer } from '../../gateway/http/server.ts';
import type { TsgiApp } from '../../gateway/types.ts';

// A full, synchronous GC on demand (V8's own flag; nothing of Node's is patched).
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/** WeakRefs to what each request handed the app: if anything keeps them, they survive a full GC. */
const handedOut: Array<WeakRef<object>> = [];

const app: TsgiApp = async (request, ctx) => {
  const url = new URL(request.url);
  if (url.pathname === '/signal') {
    // Materialises the lazy signal: an AbortController and a 'close' watcher on the response.
    ctx.signal.addEventListener('abort', () => {});
    handedOut.push(new WeakRef(ctx.signal));
  }
  if (url.pathname === '/headers') request.headers.get('host'); // builds the full undici Request
  handedOut.push(new WeakRef(request), new WeakRef(ctx));
  return new Response('ok\n');
};

let server: HttpServer;
let port: number;
const agent = new Agent({ keepAlive: true, maxSockets: 1 });

beforeAll(async () => {
  server = createHttpServer(app);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  agent.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** One GET, on the shared kept-alive connection unless `via` is false (a connection of its own, closed after). */
function get(path: string, via: Agent | false = agent): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent: via }, (res) => {
      res.resume();
      res.on('end', () => resolve(req.socket as Socket));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The server side of the one kept-alive connection. */
function serverSocket(): Promise<Socket> {
  return new Promise((resolve) => server.getConnections(() => {
    // node:http keeps no public list of sockets; the 'connection' listener below records it.
    resolve(serverSockets[serverSockets.length - 1]!);
  }));
}
const serverSockets: Socket[] = [];

function listenerCounts(socket: Socket): Record<string, number> {
  return Object.fromEntries(socket.eventNames().map((name) => [String(name), socket.listenerCount(name)]));
}

describe('per-request objects are not retained', () => {
  it('listeners on a kept-alive connection do not grow with requests, even when every app reads ctx.signal', async () => {
    server.on('connection', (socket: Socket) => serverSockets.push(socket));
    for (let i = 0; i < 10; i++) await get('/signal');
    const after10 = listenerCounts(await serverSocket());
    for (let i = 0; i < 300; i++) await get(i % 2 ? '/signal' : '/headers');
    expect(listenerCounts(await serverSocket())).toEqual(after10);
    expect(serverSockets).toHaveLength(1);
  });

  it('no deadline is left queued and no timer left running once async apps have answered', async () => {
    for (let i = 0; i < 200; i++) await get('/plain');
    const queue = deadlineQueue(DEFAULT_APP_TIMEOUT_MS);
    expect(queue.size).toBe(0);
    // The one timer is gone with the last deadline: an idle process has nothing to wake it.
    expect(queue.armed).toBe(false);
    // And another request leaves no timer behind: every Timeout created while it was served is
    // gone once it is answered. On a connection of its own, closed once answered: a kept-alive
    // connection's idle timer (node:http's, which Node 24.22 keeps as a reusable Timeout) would
    // outlive the request by design. The timers vitest's worker makes for its own messages
    // (created from node_modules) come and go at any moment: counting the process's Timeouts
    // before and after, as this test once did, failed now and then because of them. Nor does
    // node:http's Date-header cache count: one unref'd timer per process that empties the cache
    // a second later (utcDate in node:internal/http), made whenever the cached date is stale.
    const pending = new Map<number, string>();
    const hook = createHook({
      init(asyncId, type) {
        if (type !== 'Timeout') return;
        const stack = new Error('timer created').stack ?? '';
        if (!stack.includes('/node_modules/') && !stack.includes('at utcDate (node:internal/http')) pending.set(asyncId, stack);
      },
      destroy(asyncId) {
        pending.delete(asyncId);
      },
    }).enable();
    try {
      const socket = await get('/plain', false);
      if (!socket.destroyed) await once(socket, 'close');
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      hook.disable();
    }
    expect(queue.armed).toBe(false);
    expect([...pending.values()]).toEqual([]);
  });

  it('the Request, context and signal of finished requests are collectable', async () => {
    handedOut.length = 0;
    for (let i = 0; i < 300; i++) await get(['/plain', '/signal', '/headers'][i % 3]!);
    // Let the last response's callbacks run, then collect.
    await new Promise((resolve) => setImmediate(resolve));
    collectGarbage();
    const alive = handedOut.filter((ref) => ref.deref() !== undefined).length;
    // At most the objects of the request served last may still be referenced by its connection.
    expect(alive).toBeLessThanOrEqual(3);
    expect(handedOut.length).toBeGreaterThan(600);
  });
});
