/**
 * CGI (RFC 3875): one process, one request. The environment and stdin come
 * in; "Status:", headers, a blank line and the body go out on stdout.
 *
 * The response owns stdout. Anything the app itself prints (a stray
 * console.log) is sent to stderr, which the web server logs, because a single
 * byte of it on stdout would corrupt the response head.
 */
import { fs } from './builtins.ts';
import { cgiHead } from './cgi-response.ts';
import { handleRequest, type HandleOptions, type ResponseWriter } from './handler.ts';
import { expectsBody, type BodySource } from './environ.ts';
import { toLogger, type Logger, type LogSink } from './logger.ts';
import type { Environ, TsgiApp } from './types.ts';

const STDOUT_FD = 1;

/**
 * From now on `process.stdout` is `process.stderr` (console.log included,
 * which looks process.stdout up on its first write). A getter, not a patched
 * `write`: Node builds either stream only when something uses it, and
 * building them loads node:stream, ~5 ms of a ~55 ms CGI request that prints
 * nothing. The price: a reference to process.stdout taken before this call
 * still writes to fd 1, so an entry script calls it before importing the app
 * (app/yourapplication.cgi.ts does); runCgi calls it too.
 */
export function divertStdoutToStderr(): void {
  // Calling it again defines the same getter: harmless.
  Object.defineProperty(process, 'stdout', { configurable: true, enumerable: true, get: () => process.stderr });
}

/**
 * Blocking writes to fd 1. The web server reads our stdout as fast as the
 * client takes it; blocking here is the backpressure, and it keeps the
 * response independent of whatever the app does with process.stdout.
 */
function writeAll(fd: number, data: Uint8Array): void {
  let offset = 0;
  while (offset < data.byteLength) {
    try {
      offset += fs.writeSync(fd, data, offset, data.byteLength - offset);
    } catch (error) {
      // A non-blocking pipe that is momentarily full: wait for the server to read.
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }
}

export function cgiWriter(fd: number = STDOUT_FD): ResponseWriter {
  return {
    // Fetch header values are byte strings (one char per byte): latin1 writes those bytes back unchanged.
    sendHead: (status, headers) => writeAll(fd, Buffer.from(cgiHead(status, headers), 'latin1')),
    write: (chunk) => writeAll(fd, chunk),
    end: () => {},
    abort: () => {},
    // No logError: app errors go to the logger, on stderr, which the web server logs.
  };
}

export interface CgiOptions extends Omit<HandleOptions, 'logger'> {
  /** Where app errors go; stderr (the web server's error log) by default. */
  log?: Logger | LogSink;
  environ?: Environ;
  stdin?: () => BodySource;
}

/** Most request body a CGI process reads and throws away when the app did not want it. */
const MAX_DISCARDED_INPUT = 16 * 1024 * 1024;
const DISCARD_TIMEOUT_MS = 10_000;

/**
 * Reads what is left of stdin and throws it away. When the app answers
 * without reading the body (a 405, a 404), the web server is still sending
 * it to us; if we exit, its write fails, and Apache then closes the client
 * connection with unread input, which resets it and can cut off the
 * response already sent. Bounded in bytes and time.
 */
async function discardUnreadInput(input: NodeJS.ReadableStream & { destroyed?: boolean }): Promise<void> {
  if (input.destroyed) return;
  const drain = async () => {
    let read = 0;
    try {
      for await (const chunk of input) {
        read += (chunk as Uint8Array).byteLength;
        if (read > MAX_DISCARDED_INPUT) return;
      }
    } catch {
      // The server closed our stdin first: nothing left to drain.
    }
  };
  await Promise.race([drain(), new Promise((resolve) => setTimeout(resolve, DISCARD_TIMEOUT_MS).unref())]);
}

/**
 * The environment with request header values as octets, one character per
 * byte (Fetch's ByteString, and what the FastCGI and HTTP transports give):
 * Node decodes process.env as UTF-8, which turns a Latin-1 "é" into U+FFFD
 * and "é" in UTF-8 into one character. Only when a header value has a byte
 * over 0x7F (rare; one file read in a process that serves one request) are
 * the raw bytes read back from /proc/self/environ (docs/http-policy.md,
 * "Field values"). Without /proc the environment stays as Node decoded it.
 */
export function withHeaderOctets(env: Environ, raw: () => Buffer = () => fs.readFileSync('/proc/self/environ')): Environ {
  if (!Object.keys(env).some((key) => key.startsWith('HTTP_') && /[^\x00-\x7f]/.test(env[key] ?? ''))) return env;
  let bytes: Buffer;
  try {
    bytes = raw();
  } catch {
    return env;
  }
  const out: Record<string, string> = { ...env };
  for (let start = 0; start < bytes.length;) {
    let end = bytes.indexOf(0, start);
    if (end === -1) end = bytes.length;
    const equals = bytes.indexOf(0x3d, start);
    if (equals !== -1 && equals < end) {
      const name = bytes.toString('latin1', start, equals);
      if (name.startsWith('HTTP_') && name in env) out[name] = bytes.toString('latin1', equals + 1, end);
    }
    start = end + 1;
  }
  return out;
}

/** Serves the one request this process was started for, then exits. */
export async function runCgi(app: TsgiApp, options: CgiOptions = {}): Promise<void> {
  divertStdoutToStderr();
  const environ = options.environ ?? withHeaderOctets(process.env as Environ);
  // httpoxy: the client's Proxy header must not become the process's proxy setting.
  delete process.env.HTTP_PROXY;
  const openBody = options.stdin ?? (() => process.stdin);
  await handleRequest(app, environ, openBody, cgiWriter(), { ...options, logger: toLogger(options.log) });
  if (!options.stdin && expectsBody(environ)) await discardUnreadInput(process.stdin);
  // The response is complete on fd 1 (writes are synchronous): timers or
  // sockets the app left open must not keep the server waiting.
  process.exit(0);
}
