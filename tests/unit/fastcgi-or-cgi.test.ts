// runFastCgiOrCgi decides by what fd 0 is, like flup: a listening socket means FastCGI,
// anything else (a pipe, a file, mod_cgid's connected socket) means one CGI request.
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCgiResponse } from '../../gateway/cgi-response.ts';
import { FastCgiClient } from '../../gateway/fastcgi/client.ts';
import { cgiParams } from '../fixtures/fastcgi-params.ts';
import { waitFor } from '../fixtures/nginx-runner.ts';
import { requireTool } from '../fixtures/require-tool.ts';

const ENTRY = fileURLToPath(new URL('../fixtures/fastcgi-or-cgi-entry.ts', import.meta.url));
const BLOCKING_ENTRY = fileURLToPath(new URL('../fixtures/fastcgi-blocking-entry.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'fcgi-or-cgi-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runEntry(stdin: 'pipe' | number | Socket, environ: Record<string, string>, body?: Buffer) {
  return new Promise<{ stdout: Buffer; stderr: string; code: number | null }>((resolve, reject) => {
    const child = spawn(process.execPath, [ENTRY], {
      env: { PATH: process.env.PATH ?? '', ...environ },
      stdio: [stdin, 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ stdout: Buffer.concat(out), stderr, code }));
    if (stdin === 'pipe') child.stdin!.end(body ?? Buffer.alloc(0));
  });
}

const post = (length: number): Record<string, string> =>
  cgiParams('/echo', { REQUEST_METHOD: 'POST', CONTENT_LENGTH: String(length), CONTENT_TYPE: 'text/plain' });

describe('runFastCgiOrCgi falls back to CGI', () => {
  it('when fd 0 is a pipe (Apache mod_cgi, lighttpd mod_cgi)', async () => {
    const { stdout, code } = await runEntry('pipe', post(11), Buffer.from('hello world'));
    expect(code).toBe(0);
    expect(stdout.toString()).toMatch(/^Status: 200 OK\r\n/);
    expect(JSON.parse(parseCgiResponse(stdout).body.toString()).body.text).toBe('hello world');
  });

  it('when fd 0 is a file', async () => {
    const fd = openSync('/dev/null', 'r');
    try {
      const { stdout } = await runEntry(fd, cgiParams('/hello'));
      expect(stdout.toString()).toBe('Status: 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 14\r\n\r\nHello, World!\n');
    } finally {
      closeSync(fd);
    }
  });

  it('when fd 0 is a connected socket (Apache mod_cgid), reading the body from it', async () => {
    const path = join(dir, 'cgid.sock');
    let serverSide: Socket | undefined;
    const listener = createServer((socket) => {
      serverSide = socket;
      socket.end('from a socket');
    });
    await new Promise<void>((resolve) => listener.listen(path, resolve));
    const clientSide = connect({ path });
    await new Promise((r) => clientSide.once('connect', r));
    try {
      const { stdout, code } = await runEntry(clientSide, post(13));
      expect(code).toBe(0);
      expect(JSON.parse(parseCgiResponse(stdout).body.toString()).body.text).toBe('from a socket');
    } finally {
      clientSide.destroy();
      serverSide?.destroy();
      listener.close();
    }
  });
});

/**
 * An entry file under spawn-fcgi (`-n`: spawn-fcgi execs it on the listening
 * socket), as mod_fcgid and lighttpd start it; resolves once it accepts.
 */
async function spawnFcgiEntry(entry: string, socketName: string) {
  const spawnFcgi = requireTool('/usr/bin/spawn-fcgi', 'spawn-fcgi');
  const path = join(dir, socketName);
  const child = spawn(spawnFcgi, ['-s', path, '-n', '--', process.execPath, entry], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d; });
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // The socket file appears at bind(), a moment before listen(): until then a
  // connect is refused, so wait for a connection, not for the file.
  let first: FastCgiClient | undefined;
  try {
    await waitFor(async () => { first = await FastCgiClient.connect({ path }); return true; }, 'spawn-fcgi socket accepting');
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  if (!first) throw new Error('unreachable: waitFor returned without a connection');
  return {
    child,
    path,
    exit,
    stderr: () => stderr,
    first,
    /** Kills the process if a failed test left it running. */
    cleanUp: () => { if (child.exitCode === null) child.kill('SIGKILL'); },
  };
}

describe('runFastCgiOrCgi serves FastCGI', () => {
  it('on a listening socket at fd 0 (spawn-fcgi), finishing requests in flight on SIGTERM', async () => {
    const spawned = await spawnFcgiEntry(ENTRY, 'spawned.sock');
    const client = spawned.first;
    try {
      // The socket accepts as soon as spawn-fcgi listens; a first answer shows node is up and serving.
      client.begin(2, { keepConn: true });
      client.params(2, cgiParams('/hello'));
      client.stdin(2, Buffer.alloc(0));
      expect((await client.result(2)).protocolStatus).toBe(0);
      client.begin(1);
      client.params(1, cgiParams('/slow?ms=400'));
      client.stdin(1, Buffer.alloc(0));
      await new Promise((r) => setTimeout(r, 100));
      spawned.child.kill('SIGTERM');
      const result = await client.result(1);
      expect(parseCgiResponse(result.stdout).body.toString()).toBe('slow done\n');
      expect(await spawned.exit).toBe(0);
      expect(spawned.stderr()).toBe('');
    } finally {
      spawned.cleanUp();
    }
  });

  // mod_fcgid connects a waiting request to an app process the moment it is
  // free, also while a graceful restart is stopping that process: the
  // connection can be in the accept queue when SIGTERM is handled. Closing the
  // listener then reset it (Apache: 500 "End of script output before
  // headers", seen in a reload under load). The fixture holds the loop in a
  // SIGTERM listener of its own while the second connection comes.
  it('on SIGTERM, first serving the connections already waiting in the accept queue', async () => {
    const spawned = await spawnFcgiEntry(BLOCKING_ENTRY, 'blocking.sock');
    const ask = async (id: number, target: string, client: FastCgiClient) => {
      client.begin(id);
      client.params(id, cgiParams(target));
      client.stdin(id, Buffer.alloc(0));
      return parseCgiResponse((await client.result(id)).stdout).body.toString();
    };
    try {
      expect(await ask(1, '/hello', spawned.first)).toBe('done /hello\n');
      spawned.child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 100)); // the fixture's SIGTERM listener holds the loop
      const waiting = await FastCgiClient.connect({ path: spawned.path }); // the kernel accepts it into the queue
      const queued = ask(1, '/whoami', waiting).catch((error: Error) => `failed: ${error.message}`);
      expect(await queued).toBe('done /whoami\n');
      expect(await spawned.exit).toBe(0);
      expect(spawned.stderr()).toBe('');
    } finally {
      spawned.cleanUp();
    }
  });
});
