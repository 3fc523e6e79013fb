// Debian's cgi-fcgi (libfcgi-bin, the FastCGI developer kit's reference client) against our
// server: it runs as a CGI program, turns its environment and stdin into FastCGI records,
// and prints the app's STDOUT, so what it prints is exactly what a web server would get.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCgiResponse } from '../../gateway/cgi-response.ts';
import { serveFastCgi, type FastCgiServer } from '../../gateway/fastcgi/server.ts';
import app from '../fixtures/fastcgi-echo-app.ts';
import { cgiParams } from '../fixtures/fastcgi-params.ts';
import { requireTool } from '../fixtures/require-tool.ts';

const CGI_FCGI = requireTool('/usr/bin/cgi-fcgi', 'libfcgi-bin');

function cgiFcgi(connectTo: string, environ: Record<string, string>, body: Buffer = Buffer.alloc(0)) {
  return new Promise<{ stdout: Buffer; stderr: string; code: number | null }>((resolve, reject) => {
    const child = spawn(CGI_FCGI, ['-bind', '-connect', connectTo], { env: environ, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ stdout: Buffer.concat(out), stderr, code }));
    child.stdin.on('error', () => {});
    child.stdin.end(body);
  });
}

const dir = mkdtempSync(join(tmpdir(), 'fcgi-cgi-fcgi-'));
const unixPath = join(dir, 'app.sock');
let unixServer: FastCgiServer;
let tcpServer: FastCgiServer;
const targets: Record<string, () => string> = {
  'unix socket': () => unixPath,
  TCP: () => `127.0.0.1:${(tcpServer.address() as AddressInfo).port}`,
};

beforeAll(async () => {
  unixServer = await serveFastCgi(app, { kind: 'unix', path: unixPath }, { log: () => {} });
  tcpServer = await serveFastCgi(app, { kind: 'tcp', host: '127.0.0.1', port: 0 }, { log: () => {} });
});
afterAll(async () => {
  await Promise.all([unixServer.close(1000), tcpServer.close(1000)]);
  rmSync(dir, { recursive: true, force: true });
});

describe.each(Object.keys(targets))('cgi-fcgi over a %s', (kind) => {
  it('GET: status, headers and body', async () => {
    const { stdout, code } = await cgiFcgi(targets[kind]!(), cgiParams('/hello'));
    expect(code).toBe(0);
    expect(stdout.toString()).toBe('Status: 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 14\r\n\r\nHello, World!\n');
  });

  it('GET with a query and a mount: the app sees the CGI variables cgi-fcgi passed', async () => {
    const { stdout } = await cgiFcgi(targets[kind]!(), cgiParams('/yourapplication/echo/x%20y?q=%C3%A9&r=1', {
      SCRIPT_NAME: '/yourapplication', PATH_INFO: '/echo/x y', HTTP_X_CUSTOM: 'v',
    }));
    const response = parseCgiResponse(stdout);
    expect(response.status).toBe(200);
    expect(response.headers).toContainEqual(['x-echo', 'yes']);
    const echo = JSON.parse(response.body.toString());
    expect(echo).toMatchObject({
      method: 'GET', scriptName: '/yourapplication', pathInfo: '/echo/x y', query: '?q=%C3%A9&r=1',
      url: 'http://localhost/yourapplication/echo/x%20y?q=%C3%A9&r=1',
    });
    expect(echo.headers['x-custom']).toBe('v');
  });

  it('POST with a 1 MiB body arrives whole', async () => {
    const body = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7) % 256;
    const { stdout } = await cgiFcgi(targets[kind]!(), cgiParams('/echo', {
      REQUEST_METHOD: 'POST', CONTENT_LENGTH: String(body.length), CONTENT_TYPE: 'application/octet-stream',
    }), body);
    const echo = JSON.parse(parseCgiResponse(stdout).body.toString());
    expect(echo.body).toMatchObject({ length: body.length, sha256: createHash('sha256').update(body).digest('hex') });
    expect(echo.headers['content-type']).toBe('application/octet-stream');
  });

  it('an app error: 500 on STDOUT, the stack on FCGI_STDERR (cgi-fcgi prints it on its stderr)', async () => {
    const { stdout, stderr } = await cgiFcgi(targets[kind]!(), cgiParams('/error'));
    expect(stdout.toString()).toMatch(/^Status: 500 Internal Server Error\r\n/);
    expect(parseCgiResponse(stdout).body.toString()).toBe('500 Internal Server Error\n');
    expect(stderr).toContain('fixture failure for FCGI_STDERR');
  });

  it('a 3 MB streamed response, split into many records, arrives intact', async () => {
    const { stdout } = await cgiFcgi(targets[kind]!(), cgiParams('/bytes/3000000'));
    const body = parseCgiResponse(stdout).body;
    expect(body.length).toBe(3_000_000);
    expect(body.every((byte, i) => byte === i % 251)).toBe(true);
  });
});
