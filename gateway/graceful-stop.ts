/**
 * One graceful stop for every long-running transport (the FastCGI server, the
 * single-process HTTP server, each pre-fork worker), with one deadline: the
 * graceful-timeout setting. CGI serves one request and has nothing to drain.
 *
 *   1. stop accepting new connections (the FastCGI server first serves what
 *      is already waiting in its accept queue: fastcgi/server.ts);
 *   2. linger: requests that still arrive on open connections are served, and
 *      their connection closes after the response (HTTP "Connection: close",
 *      FastCGI as if FCGI_KEEP_CONN were off). Closing an idle keep-alive
 *      connection races with a request the web server may be sending on it
 *      right now; under load nearly every connection carries one more request
 *      within the linger and so ends cleanly instead;
 *   3. close the connections that are idle; busy ones close after their response;
 *   4. at the deadline, close whatever is left: those requests are dropped.
 *
 * The transports differ only in the Drainable they hand in.
 */
import type { Logger } from './logger.ts';

export interface Drainable {
  /** Stops taking new connections (settles once the listener is closed); open ones close after their next response. */
  stopAccepting(): void | Promise<void>;
  /** Connections still open, idle or busy. */
  openConnections(): number | Promise<number>;
  /** Closes the connections with no request in flight. Called repeatedly: busy ones become idle. */
  closeIdleConnections(): void;
  /** The deadline passed: closes every connection, dropping what is in flight. */
  destroyConnections(): void;
}

export interface GracefulStopOptions {
  /** Everything is over by then (ms); the graceful-timeout setting. */
  timeoutMs: number;
  /** How long idle connections may still bring a request (ms); at most half the timeout. */
  lingerMs?: number;
  /** Where the line about dropped requests goes. */
  logger: Logger;
  /** Which server, for the log line: "fastcgi", "http". */
  what: string;
}

export interface GracefulStopResult {
  /** Connections still busy at the deadline, closed with their requests. 0: everything finished. */
  dropped: number;
}

export const DEFAULT_LINGER_MS = 1_000;
/** Connection counts are polled only while stopping; the request path carries no bookkeeping for it. */
const POLL_MS = 25;
/** After the forced close, how long sockets get to report themselves closed. */
const FORCED_CLOSE_GRACE_MS = 1_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until no connection is open or `until` (a performance.now() time) passes; resolves with how many are left. */
async function waitForNoConnections(target: Drainable, until: number, onEachPoll?: () => void): Promise<number> {
  for (;;) {
    onEachPoll?.();
    const open = await target.openConnections();
    const left = until - performance.now();
    if (open === 0 || left <= 0) return open;
    await sleep(Math.min(POLL_MS, left));
  }
}

export async function stopGracefully(target: Drainable, options: GracefulStopOptions): Promise<GracefulStopResult> {
  const started = performance.now();
  const deadline = started + options.timeoutMs;
  const linger = Math.min(options.lingerMs ?? DEFAULT_LINGER_MS, options.timeoutMs / 2);
  await target.stopAccepting();
  await waitForNoConnections(target, started + linger);
  const busy = await waitForNoConnections(target, deadline, () => target.closeIdleConnections());
  if (busy === 0) return { dropped: 0 };
  options.logger.write(
    `${options.what}: shutdown timeout (graceful-timeout ${options.timeoutMs / 1000} s): dropping ${busy} connection(s) with requests in flight`,
  );
  target.destroyConnections();
  await waitForNoConnections(target, performance.now() + FORCED_CLOSE_GRACE_MS);
  return { dropped: busy };
}
