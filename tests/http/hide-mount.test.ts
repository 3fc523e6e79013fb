// A real Hono app (examples/hono/app.ts), unchanged, at three mounts, over
// the three transports: through the tsgi CLI's CGI transport (a real child
// process, as a web server runs it), a FastCGI server on a unix socket, and
// the HTTP server behind a proxy that sends X-Forwarded-Prefix (how
// nginx-prefork mounts it). Without --hide-mount, Hono answers 404 below a
// mount: it routes on request.url.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCgiResponse } from '../../gateway/cgi-response.ts';
import { fastCgiRequest } from '../../gateway/fastcgi/client.ts';
import { serveFastCgi, type FastCgiServer } from '../../gateway/fastcgi/server.ts';
import { serveHttp, type HttpServer } from '../../gateway/http/server.ts';
import { loadApp } from '../../gateway/load-app.ts';
import { withOptions } from '../../gateway/middleware/options.ts';
import { runCgiScript } from '../fixtures/run-cgi.ts';
import { get } from 'node:http';

const ROOT = join(import.meta.dirname, '../..');
const HONO_APP = join(ROOT, 'examples/hono/app.ts');
const TSGI = join(ROOT, 'gateway/bin/tsgi.ts');
const HOST = 'example.test';
const MOUNTS = ['', '/yourapplication', '/team-1/app.v2'];

interface Answer {
  status: number;
  headers: Array<[string, string]>;
  body: string;
}
const header = (a: Answer, name: string) => a.headers.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);

/** The CGI variables a web server sends for `target` at `mount` (SCRIPT_NAME the mount, PATH_INFO the rest). */
function cgiVariables(mount: string, target: string): Record<string, string> {
  const [path, query = ''] = target.split('?');
  return {
    GATEWAY_INTERFACE: 'CGI/1.1', SERVER_PROTOCOL: 'HTTP/1.1', SERVER_NAME: 'localhost', SERVER_PORT: '80',
    REQUEST_METHOD: 'GET', HTTP_HOST: HOST, REQUEST_URI: target, QUERY_STRING: query,
    SCRIPT_NAME: mount, PATH_INFO: path!.slice(mount.length),
  };
}

const dir = mkdtempSync(join(tmpdir(), 'hide-mount-'));
let fastcgi: FastCgiServer;
let fastcgiOff: FastCgiServer;
let http: HttpServer;

beforeAll(async () => {
  const hono = await loadApp(HONO_APP);
  fastcgi = await serveFastCgi(withOptions(hono, { hideMount: true }), { kind: 'unix', path: join(dir, 'on.sock') });
  fastcgiOff = await serveFastCgi(hono, { kind: 'unix', path: join(dir, 'off.sock') });
  http = await serveHttp(withOptions(hono, { hideMount: true, trustProxy: { prefix: 1 } }), { kind: 'tcp', host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await fastcgi?.close();
  await fastcgiOff?.close();
  http?.closeAllConnections();
  await new Promise((resolve) => http?.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

const transports: Record<string, (mount: string, target: string) => Promise<Answer>> = {
  async 'CGI (tsgi cgi --hide-mount)'(mount, target) {
    const { status, headers, body } = await runCgiScript([TSGI, 'cgi', HONO_APP, '--hide-mount'], cgiVariables(mount, target));
    return { status, headers, body: body.toString('utf8') };
  },
  async 'FastCGI (unix socket)'(mount, target) {
    const result = await fastCgiRequest({ path: join(dir, 'on.sock') }, cgiVariables(mount, target));
    const { status, headers, body } = parseCgiResponse(result.stdout);
    return { status, headers, body: body.toString('utf8') };
  },
  'HTTP (behind a proxy, X-Forwarded-Prefix)'(mount, target) {
    // node:http, not fetch: fetch would not send our Host header.
    const port = (http.address() as AddressInfo).port;
    return new Promise((resolve, reject) => {
      get({ host: '127.0.0.1', port, path: target, headers: { host: HOST, 'x-forwarded-prefix': mount } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const headers: Array<[string, string]> = [];
          for (let i = 0; i < res.rawHeaders.length; i += 2) headers.push([res.rawHeaders[i]!, res.rawHeaders[i + 1]!]);
          resolve({ status: res.statusCode!, headers, body: Buffer.concat(chunks).toString('utf8') });
        });
      }).on('error', reject);
    });
  },
};

describe.each(Object.keys(transports))('%s', (transport) => {
  const send = transports[transport]!;
  describe.each(MOUNTS)('at mount "%s"', (mount) => {
    it('routes the app\'s own paths below the mount', async () => {
      const hello = await send(mount, `${mount}/hello`);
      expect({ status: hello.status, body: hello.body }).toEqual({ status: 200, body: 'Hello from Hono!\n' });
      const bare = await send(mount, mount || '/');
      expect({ status: bare.status, body: bare.body }).toEqual({ status: 200, body: 'A Hono app. Try /hello, /where, /go, /login.\n' });
    });

    it('shows the app its URL without the mount, query kept', async () => {
      const where = await send(mount, `${mount}/where?x=1&y=%C3%A9`);
      expect(where.status).toBe(200);
      expect(JSON.parse(where.body)).toEqual({ path: '/where', url: `http://${HOST}/where?x=1&y=%C3%A9` });
    });

    it('puts the mount back into Location and the cookie Path', async () => {
      const go = await send(mount, `${mount}/go`);
      expect({ status: go.status, location: header(go, 'location') }).toEqual({ status: 302, location: [`${mount}/hello`] });
      const login = await send(mount, `${mount}/login`);
      expect(header(login, 'set-cookie')).toEqual([`session=hono-1; Path=${mount || '/'}; HttpOnly`]);
    });
  });
});

describe('without --hide-mount', () => {
  it('Hono answers 404 below a mount (the problem the option solves), and works at the root', async () => {
    const send = (mount: string, target: string) => fastCgiRequest({ path: join(dir, 'off.sock') }, cgiVariables(mount, target))
      .then((r) => parseCgiResponse(r.stdout));
    expect((await send('/yourapplication', '/yourapplication/hello')).status).toBe(404);
    expect((await send('', '/hello')).status).toBe(200);
  });
});
