/**
 * `make dev`: the workshop loop. The test runs the real target on a copy of
 * app/ in a temp dir, edits the copy the way a participant would (save in an
 * editor), and sees the next request answered by the edited app. Waits are
 * bounded polls, not timings.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const POLL_LIMIT_MS = 15_000;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** GETs url until the body satisfies `done` or the limit passes; the last body (or error) for the message. */
async function pollBody(url: string, done: (body: string) => boolean): Promise<string> {
  const deadline = Date.now() + POLL_LIMIT_MS;
  let last = '';
  while (Date.now() < deadline) {
    try {
      last = await (await fetch(url, { signal: AbortSignal.timeout(2_000) })).text();
      if (done(last)) return last;
    } catch (error) {
      last = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return last;
}

let dev: ChildProcess | undefined;
const dir = mkdtempSync(join(tmpdir(), 'make-dev-'));
afterAll(() => {
  // make and node --watch run in their own process group: stop the whole group.
  if (dev?.pid) try { process.kill(-dev.pid, 'SIGTERM'); } catch { /* already gone */ }
  rmSync(dir, { recursive: true, force: true });
});

it('make dev serves the app and answers with the edited app after a save', { timeout: 60_000 }, async () => {
  cpSync(join(root, 'app'), join(dir, 'app'), { recursive: true });
  // The app imports TSGI's Response from the gateway beside it, as in the images.
  symlinkSync(join(root, 'gateway'), join(dir, 'gateway'));
  const appFile = join(dir, 'app', 'app.ts');
  const port = await freePort();
  let output = '';
  dev = spawn('make', ['--no-print-directory', 'dev', `DEV_APP=${appFile}`, `DEV_BIND=127.0.0.1:${port}`], { cwd: root, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [dev.stdout!, dev.stderr!]) stream.on('data', (chunk: Buffer) => { output += chunk; });

  const before = await pollBody(`http://127.0.0.1:${port}/hello`, (body) => body === 'Hello, World!\n');
  expect(before, `make dev did not serve /hello; its output:\n${output}`).toBe('Hello, World!\n');

  const source = readFileSync(appFile, 'utf8');
  const edited = source.replace("'Hello, World!\\n', 200, { 'content-length': '14' }", "'Hello, workshop!\\n', 200, { 'content-length': '17' }");
  expect(edited, 'the copy of app/app.ts has the hello() line this test edits').not.toBe(source);
  writeFileSync(appFile, edited);

  const after = await pollBody(`http://127.0.0.1:${port}/hello`, (body) => body === 'Hello, workshop!\n');
  expect(after, `no reload after the save; make dev's output:\n${output}`).toBe('Hello, workshop!\n');
});
