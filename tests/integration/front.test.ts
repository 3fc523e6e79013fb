/**
 * The front service on its own (what the browser test doesn't show): a bad
 * MOUNT stops it with the rule and the value, exit 64; at a good mount it
 * proxies /<mode>/... into the mode's mount and maps what the app sends back
 * (redirects, cookie paths) into /<mode>/; it runs as non-root on a read-only
 * root fs.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { docker } from './docker.ts';
import { buildFront, frontImage, startFrontStack, type FrontStack } from './front-stack.ts';
import { MOUNTS, selectedModes } from './matrix.ts';

const MOUNT = [...MOUNTS].sort((a, b) => b.length - a.length)[0]!;
const MODE = 'nginx-fcgi';

beforeAll(() => buildFront(), 900_000);

describe('the front refuses a bad MOUNT', () => {
  // The same check, in the same words, as the modes' (images/common/mount.sh).
  const RULE = 'A mount is "" or "/" (the root), or path segments like /team-1/app.v2, each a "/" and then letters, digits, ".", "-", "_" or "~", none of them "." or "..".';
  test.each([
    ['/a b', 'a character outside the rule'],
    ['no-slash', 'it must start with /'],
    ['/a/../b', 'a . or .. segment'],
    ['/a;b', 'a character outside the rule'],
    ['/x$y', 'a character outside the rule'],
    ['/a//b', 'an empty segment'],
  ])('MOUNT=%j: exit 64 with the rule', async (mount, reason) => {
    const run = await docker(['run', '--rm', '--read-only', '--tmpfs', '/tmp', '-e', `MOUNT=${mount}`, frontImage()], 60_000);
    expect({ code: run.code, stderr: run.stderr.trim() }).toEqual({
      code: 64,
      stderr: `bad mount APP_MOUNT="${mount}" (MOUNT for make and compose): ${reason}. ${RULE}`,
    });
  });
});

describe.skipIf(!selectedModes().includes(MODE))(`the front proxying ${MODE} at ${JSON.stringify(MOUNT)}`, () => {
  let stack: FrontStack;
  beforeAll(async () => { stack = await startFrontStack([MODE], MOUNT); }, 300_000);
  afterAll(() => stack?.stop());

  test('/<mode>/<path> reaches the app with the mount as SCRIPT_NAME', async () => {
    const res = await fetch(`${stack.url}/${MODE}/echo/a%20b?x=1`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ scriptName: MOUNT, pathInfo: '/echo/a b', args: { x: ['1'] } });
    const bare = await fetch(`${stack.url}/${MODE}`, { redirect: 'manual' });
    expect({ status: bare.status, location: bare.headers.get('location') }).toEqual({ status: 301, location: `/${MODE}/` });
  });

  test('a redirect and cookie paths into the mount come back mapped into /<mode>/', async () => {
    const redirect = await fetch(`${stack.url}/${MODE}/redirect?to=/hello`, { redirect: 'manual' });
    expect({ status: redirect.status, location: redirect.headers.get('location') }).toEqual({ status: 302, location: `/${MODE}/hello` });
    const cookies = await fetch(`${stack.url}/${MODE}/cookies`);
    expect(cookies.headers.getSetCookie()).toEqual([
      `session=abc123; Path=/${MODE}; HttpOnly; SameSite=Lax`,
      `theme=dark; Path=/${MODE}`,
    ]);
  });

  test('the walkthrough is served as text, a mode that is not running is a 502, not a failed front', async () => {
    const walkthrough = await fetch(`${stack.url}/docs/modes/${MODE}.md`);
    expect({ status: walkthrough.status, type: walkthrough.headers.get('content-type') }).toEqual({ status: 200, type: 'text/plain; charset=utf-8' });
    expect(await walkthrough.text()).toMatch(new RegExp(`^# ${MODE}`));
    // Only MODE runs in this stack: the others' names don't resolve.
    expect((await fetch(`${stack.url}/apache-cgi/hello`)).status).toBe(502);
    expect((await fetch(`${stack.url}/healthz`)).status).toBe(200);
  });

  test('nginx runs as www-data, on a read-only root fs', async () => {
    // No ps in the image: every process's real uid from /proc (nginx's master is PID 1).
    const uids = await docker(['exec', stack.frontId, 'sh', '-c', 'grep -h "^Uid:" /proc/[0-9]*/status']);
    expect(uids.code, uids.stderr).toBe(0);
    expect(new Set(uids.stdout.trim().split('\n').map((line) => line.split(/\s+/)[1]))).toEqual(new Set(['33']));
    const write = await docker(['exec', stack.frontId, 'touch', '/usr/share/yourapplication/front/x']);
    expect(write.stderr).toContain('Read-only file system');
  });
});
