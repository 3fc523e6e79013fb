/**
 * Logs that cannot be flooded, end to end: the real `tsgi` command, its real
 * stderr, thousands of bad inputs over real sockets. The output stays bounded
 * (the first lines of each kind, then summary lines), every bad input is
 * accounted for in the summaries, and a crashing handler still answers 500
 * with its first stacks in the log.
 */
import { once } from 'node:events';
import { Agent, request as httpRequest } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_LINES_PER_WINDOW } from '../../gateway/logger.ts';
import { SETTINGS_APP, TsgiProcess } from '../fixtures/tsgi-process.ts';

const dir = mkdtempSync(join(tmpdir(), 'tsgi-flood-'));
const running: TsgiProcess[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((proc) => proc.kill()));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** How many lines a summary says it stood for, across every summary of that kind. */
function summarised(lines: string[], kind: string): number {
  let total = 0;
  for (const line of lines) {
    const match = /^tsgi: \.\.\. and (\d+) more like it in the last [\d.]+ s \((.+)\)$/.exec(line);
    if (match && match[2] === kind) total += Number(match[1]);
  }
  return total;
}

/** Writes bytes on a fresh connection and waits for the server to close it. */
function sendAndWaitForClose(path: string, bytes: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect({ path });
    socket.on('error', () => {});
    socket.on('data', () => {});
    socket.on('close', () => resolve());
    socket.once('connect', () => socket.end(bytes));
  });
}

async function stop(proc: TsgiProcess): Promise<number | null> {
  proc.signal('SIGTERM');
  return proc.exited;
}

describe('logs that cannot be flooded (real tsgi, real stderr)', () => {
  it('thousands of malformed FastCGI records give a bounded log with summary lines accounting for all of them', async () => {
    const socket = join(dir, 'fcgi.sock');
    const proc = new TsgiProcess(['fastcgi', SETTINGS_APP, '--bind', `unix:${socket}`, '--max-conns', '1000']);
    running.push(proc);
    await proc.waitFor(/tsgi: FastCGI on/);
    const CONVERSATIONS = 3000;
    for (let sent = 0; sent < CONVERSATIONS; sent += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, i) => {
        // Version 2 records (FastCGI has only version 1), then garbage: each closes its connection.
        const record = Buffer.from([2, 1, 0, 1, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
        return sendAndWaitForClose(socket, Buffer.concat([record, Buffer.from(`junk ${sent + i}`)]));
      }));
    }
    expect(await stop(proc)).toBe(0);
    const malformed = proc.lines.filter((line) => line.startsWith('fastcgi: closing connection'));
    // Without the limiter this was one line per conversation (issue 7: 38,010 lines for 80,000 fuzzed ones).
    expect(malformed.length).toBeGreaterThanOrEqual(DEFAULT_LINES_PER_WINDOW);
    expect(proc.lines.length).toBeLessThan(60);
    expect(malformed.every((line) => /unsupported FastCGI version 2/.test(line))).toBe(true);
    // Nothing unaccounted for: what was written plus what the summaries stand for is every conversation.
    expect(malformed.length + summarised(proc.lines, 'malformed FastCGI input')).toBe(CONVERSATIONS);
  }, 60_000);

  it('a handler that throws on every request: each gets a 500, the first stacks are logged, the rest summed up', async () => {
    const socket = join(dir, 'http.sock');
    const proc = new TsgiProcess(['http', SETTINGS_APP, '--bind', `unix:${socket}`, '--workers', '0']);
    running.push(proc);
    await proc.waitFor(/tsgi: HTTP on/);
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    const REQUESTS = 400;
    const statuses = await Promise.all(Array.from({ length: REQUESTS }, () => new Promise<number>((resolve, reject) => {
      const req = httpRequest({ socketPath: socket, path: '/error', agent, headers: { host: 'localhost' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end();
    })));
    agent.destroy();
    expect(statuses.filter((status) => status === 500)).toHaveLength(REQUESTS);
    expect(await stop(proc)).toBe(0);
    const stacks = proc.lines.filter((line) => line.startsWith('tsgi: GET /error: Error: settings-app fails on purpose'));
    expect(stacks.length).toBeGreaterThanOrEqual(DEFAULT_LINES_PER_WINDOW);
    // Each logged one is the whole stack: its frames follow the first line.
    expect(proc.stderr).toMatch(/settings-app fails on purpose\n\s+at .*settings-app\.ts/);
    expect(stacks.length + summarised(proc.lines, 'app errors')).toBe(REQUESTS);
  }, 60_000);

  it('bad request targets get their 400 each, and a bounded log', async () => {
    const socket = join(dir, 'bad.sock');
    const proc = new TsgiProcess(['http', SETTINGS_APP, '--bind', `unix:${socket}`, '--workers', '0']);
    running.push(proc);
    await proc.waitFor(/tsgi: HTTP on/);
    const REQUESTS = 200;
    for (let i = 0; i < REQUESTS; i++) {
      const client = connect({ path: socket });
      await once(client, 'connect');
      let answer = '';
      client.on('data', (chunk: Buffer) => { answer += chunk.toString('latin1'); });
      // A bad percent-escape: node:http passes the target on, the gateway refuses it.
      client.write(`GET /x%zz${i} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
      await once(client, 'close');
      expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    }
    expect(await stop(proc)).toBe(0);
    const logged = proc.lines.filter((line) => line.startsWith('tsgi: 400 Bad Request: invalid request target'));
    expect(logged.length).toBeGreaterThanOrEqual(DEFAULT_LINES_PER_WINDOW);
    expect(proc.lines.length).toBeLessThan(30);
    expect(logged.length + summarised(proc.lines, 'bad requests')).toBe(REQUESTS);
  }, 60_000);
});
