/**
 * Issue 7's "hardened by default" and "slow clients don't take a mode down",
 * per container. The containers run exactly as compose.yaml runs them
 * (global-setup.ts, hardening.ts): these tests check that they really do,
 * that request bodies the servers spool to disk still work under a read-only
 * root, and that slow request heads neither block other clients nor stay
 * open past the request-read timeout every mode shares (configs/README.md).
 */
import { connect, type Socket } from 'node:net';
import { describe, expect, inject, test } from 'vitest';
import { expectedBytes, sha256 } from './contract.ts';
import { HOST } from './corpus.ts';
import { docker } from './docker.ts';
import { hardeningFor } from './hardening.ts';
import { MODES, mountLabel, type Target } from './matrix.ts';
import { send } from './raw-http.ts';

const targets = [...inject('integrationTargets')].sort((a, b) => MODES.indexOf(a.mode) - MODES.indexOf(b.mode));
const label = (t: Target) => `${t.mode}, ${mountLabel(t.mount)}`;

/** The request-read timeout of every mode: the whole request head within 10 s. */
const HEADER_TIMEOUT_S = 10;
/**
 * How long a slow head may stay open in the test: past the 10 s, well short
 * of what the servers allowed before (Debian's Apache 20-40 s, nginx and
 * lighttpd 60 s). Not a speed goal: a server timer either fires or not.
 */
const CLOSED_WITHIN_MS = 18_000;
/** Slow connections per container: more than Debian's event MPM had workers (150). */
const SLOW_CONNECTIONS = 200;

describe.each(targets.map((t) => [label(t), t] as const))('%s', (_label, t) => {
  test('runs as compose.yaml says: read-only root, no capabilities, no new privileges, tmpfs where it writes', async () => {
    const want = hardeningFor(t.mode);
    const inspect = await docker(['inspect', '--format', '{{json .HostConfig}}', t.containerId]);
    expect(inspect.code, inspect.stderr).toBe(0);
    const host = JSON.parse(inspect.stdout) as { ReadonlyRootfs: boolean; CapDrop: string[] | null; SecurityOpt: string[] | null; Tmpfs: Record<string, string> | null };
    expect({ readOnly: host.ReadonlyRootfs, capDrop: host.CapDrop, securityOpt: host.SecurityOpt, tmpfs: host.Tmpfs })
      .toEqual({ readOnly: true, capDrop: want.capDrop, securityOpt: want.securityOpt, tmpfs: want.tmpfs });

    // What the kernel says about the server (PID 1): no capabilities even in the bounding set, no_new_privs set;
    // and the root filesystem refuses a write.
    const probe = await docker(['exec', t.containerId, 'sh', '-c',
      'grep -E "^(CapBnd|NoNewPrivs):" /proc/1/status; touch /srv/yourapplication/written 2>&1; echo "touch: $?"']);
    expect(probe.stdout).toMatch(/^CapBnd:\s+0{16}$/m);
    expect(probe.stdout).toMatch(/^NoNewPrivs:\s+1$/m);
    expect(probe.stdout).toMatch(/Read-only file system/);
    expect(probe.stdout).not.toMatch(/^touch: 0$/m);
  });

  test.each([
    ['with Content-Length', false],
    ['chunked', true],
  ] as const)('a 1 MiB upload (%s) reaches the app whole, though the server spools it to disk', async (_how, chunked) => {
    const body = expectedBytes(1024 * 1024);
    const res = await send({
      method: 'POST',
      target: `${t.mount}/echo`,
      headers: [['Host', HOST], ['Content-Type', 'application/octet-stream'], ...(chunked ? [] : [['Content-Length', String(body.length)] as [string, string]])],
      ...(chunked ? { chunks: [body.subarray(0, 300_000), body.subarray(300_000)] } : { body }),
    }, { port: t.port, timeoutMs: 30_000 });
    expect(res.status, res.body.toString('utf8').slice(0, 300)).toBe(200);
    const echo = JSON.parse(res.body.toString('utf8')) as { body: { length: number; sha256: string } };
    expect(echo.body).toEqual({ length: body.length, sha256: sha256(body) });
  });

  // Only apache-fcgid reads that far: the other modes refuse at the 2 MiB limit
  // (tested with the route contract), while mod_fcgid takes a chunked body whole
  // before the gateway sees it, up to its 16 MiB backstop (configs/apache/fcgid.conf).
  // Stock mod_fcgid answered 500 here; the image's build passes Apache's 413 on.
  test.runIf(t.mode === 'apache-fcgid')('a chunked upload past the 16 MiB backstop is refused with 413, like every other body limit', { timeout: 60_000 }, async () => {
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    const res = await send({
      method: 'POST',
      target: `${t.mount}/echo`,
      headers: [['Host', HOST], ['Content-Type', 'application/octet-stream']],
      chunks: Array.from({ length: 17 }, () => chunk),
    }, { port: t.port, timeoutMs: 45_000 });
    expect({ status: res.status, body: res.body.toString('utf8') }).toEqual({ status: 413, body: '413 Payload Too Large\n' });
  });

  // apache-fcgid passes this since its mod_fcgid queues requests in a line and
  // Apache runs 600 threads (configs/apache/fcgid.conf); with stock mod_fcgid
  // it ran 2 prefork children, and 2 slow heads held the whole server.
  test(
    `${SLOW_CONNECTIONS} slow request heads: /hello still answers, and the server closes them after its ${HEADER_TIMEOUT_S} s header timeout`,
    { timeout: 60_000 },
    async () => {
      const slow = await Promise.all(Array.from({ length: SLOW_CONNECTIONS }, () => openSlowHead(t)));
      try {
        const res = await send({ method: 'GET', target: `${t.mount}/hello`, headers: [['Host', HOST]] }, { port: t.port, timeoutMs: 30_000 });
        expect(res.status).toBe(200);
        expect(res.body.toString('utf8')).toBe('Hello, World!\n');
        // /hello did not have to wait for the slow connections to be dropped.
        expect(slow.filter((s) => s.closedAt !== undefined).length, 'slow connections closed before /hello answered').toBe(0);

        await Promise.all(slow.map((s) => s.closed));
        const problems = slow.flatMap((s, i) => {
          const out: string[] = [];
          if (s.closedAt === undefined || s.closedAt - s.openedAt > CLOSED_WITHIN_MS) out.push(`#${i}: still open after ${CLOSED_WITHIN_MS} ms`);
          const answer = Buffer.concat(s.received).toString('latin1');
          if (answer !== '' && !answer.startsWith('HTTP/1.1 408 ')) out.push(`#${i}: answered ${JSON.stringify(answer.slice(0, 40))} (nothing or a 408 expected)`);
          return out;
        });
        expect(problems.slice(0, 5), `${problems.length} of ${SLOW_CONNECTIONS} slow connections`).toEqual([]);
      } finally {
        for (const s of slow) s.socket.destroy();
      }
    },
  );
});

interface SlowHead {
  socket: Socket;
  openedAt: number;
  /** When the server closed the connection (EOF or reset); undefined while it is open. */
  closedAt: number | undefined;
  received: Buffer[];
  /** Settles when the server closed it, or CLOSED_WITHIN_MS + 5 s after it opened (then closedAt stays undefined). */
  closed: Promise<void>;
}

/** A connection that sends the start of a request head and then nothing (slowloris without the drip). */
function openSlowHead(t: Target): Promise<SlowHead> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: t.port });
    const head: SlowHead = { socket, openedAt: 0, closedAt: undefined, received: [], closed: Promise.resolve() };
    let settle!: () => void;
    head.closed = new Promise<void>((r) => { settle = r; });
    const giveUp = setTimeout(settle, CLOSED_WITHIN_MS + 5_000);
    const onClose = () => {
      if (head.closedAt === undefined) head.closedAt = Date.now();
      clearTimeout(giveUp);
      settle();
    };
    socket.on('data', (chunk: Buffer) => head.received.push(chunk));
    socket.on('end', onClose);
    socket.on('close', onClose);
    socket.once('error', (error) => {
      if (head.openedAt === 0) { clearTimeout(giveUp); reject(error); } else onClose();
    });
    socket.once('connect', () => {
      socket.write(`GET ${t.mount}/hello HTTP/1.1\r\nHost: ${HOST}\r\nUser-Agent: yourapplication-slow-head-test\r\n`, () => {
        head.openedAt = Date.now();
        resolve(head);
      });
    });
  });
}
