/**
 * One HTTP/1.1 connection of the HTTP transport: read a request head
 * (./wire.ts), run the request through the shared handleRequest, write the
 * response, and either wait for the next request (keep-alive) or close.
 *
 * Why not node:http: its machinery (a parser callback per element, an
 * IncomingMessage and a ServerResponse, both full streams, per request) cost
 * more CPU than the whole FastCGI transport behind nginx (docs/performance.md).
 * What this file keeps of its behaviour, on purpose:
 * - requests on a connection are answered in order; bytes of a pipelined next
 *   request wait (bounded: the socket is paused) until the current one is done;
 * - the request body is read only when the app reads it, with backpressure;
 *   `Expect: 100-continue` is answered at that moment; a body the app never
 *   opened is read away so the connection can serve the next request, unless
 *   it is large or of unknown length (then the connection closes);
 * - a streamed response without Content-Length is chunked (HTTP/1.1) or
 *   ends with the connection (HTTP/1.0); a failure after the head closes the
 *   connection without the terminating chunk, so the truncation is visible;
 * - timeouts: the head must arrive within headersTimeout, the whole request
 *   within requestTimeout, and an idle connection is closed after
 *   keepAliveTimeout (checked by the server once a second, not a timer per request);
 * - closing after a response is a half-close that keeps reading, so unread
 *   input never makes the kernel reset the connection under the reply.
 */
import type { Socket } from 'node:net';
import { ERROR_CONTENT_TYPE, errorBody } from '../errors.ts';
import { handleRequest, reasonPhrase, type HandleOptions, type HeaderList, type ResponseWriter } from '../handler.ts';
import type { BodySource } from '../environ.ts';
import type { Logger } from '../logger.ts';
import { RequestBodyQueue } from '../request-body-queue.ts';
import { RequestSignal } from '../request-signal.ts';
import { SocketDrain } from '../socket-drain.ts';
import { logSocketErrors, peerName } from '../socket-peer.ts';
import type { TsgiApp } from '../types.ts';
import { environFromHead, InvalidRequestTarget, type HttpEnvironOptions } from './environ.ts';
import { ChunkedDecoder, findHeadEnd, HttpParseError, leadingEmptyLines, parseRequestHead, type RequestHead } from './wire.ts';

/** The largest request head (request line and fields), as node:http's default maxHeaderSize; more gets 431. */
export const MAX_HEAD_BYTES = 16 * 1024;
/** Unread body bytes per request before the socket is paused. */
const BODY_HIGH_WATER_MARK = 256 * 1024;
/** A body the app never opened is read away (to keep the connection) only up to this size. */
const DISCARD_LIMIT = 64 * 1024;
/** How long a connection we are closing may take to hang up after our FIN, before it is destroyed (ms). */
const CLOSE_LINGER_MS = 5_000;

const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');
const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');
const CHUNK_END = Buffer.from('\r\n', 'latin1');

/** What every connection of one server shares. */
export interface ConnectionContext extends HttpEnvironOptions {
  readonly app: TsgiApp;
  readonly logger: Logger;
  readonly bodyLimit: number | undefined;
  readonly appTimeoutMs: number | undefined;
  readonly keepAliveTimeout: number;
  /** The fields that end a response after which the connection stays open (keepAliveFields). */
  readonly keepAliveFields: string;
  readonly headersTimeout: number;
  readonly requestTimeout: number;
  readonly onRequestDone: (() => void) | undefined;
  /** The server is shutting down: every response says Connection: close. */
  readonly draining: boolean;
}

/**
 * The fields of a response on a kept connection, as node:http sends them:
 * Keep-Alive tells a pooling client (node's Agent, undici) when we will close
 * an idle connection, so that it does not reuse one we are closing.
 */
export function keepAliveFields(keepAliveTimeoutMs: number): string {
  return `Connection: keep-alive\r\nKeep-Alive: timeout=${Math.floor(keepAliveTimeoutMs / 1000)}\r\n`;
}

/** The Date header, made at most once a second (as node:http does). */
let cachedDate = '';
function httpDate(): string {
  if (cachedDate === '') {
    const now = Date.now();
    cachedDate = new Date(now).toUTCString();
    setTimeout(() => { cachedDate = ''; }, 1000 - (now % 1000)).unref();
  }
  return cachedDate;
}

/** The status line and the Date field every response starts with. */
function statusLine(status: number): string {
  return `HTTP/1.1 ${status} ${reasonPhrase(status)}\r\nDate: ${httpDate()}\r\n`;
}

const NO_BODY: BodySource = { [Symbol.asyncIterator]: () => ({ next: async () => ({ value: undefined, done: true }) }) };

/** One request and its response. */
class Exchange implements ResponseWriter {
  readonly head: RequestHead;
  readonly signal = new RequestSignal();
  readonly started: number;
  /** Null when the request has no body. */
  readonly body: RequestBodyQueue | null;
  readonly #connection: HttpConnection;
  /** Body bytes still to come under Content-Length. */
  remaining: number;
  readonly chunks: ChunkedDecoder | null;
  bodyDone: boolean;
  bodyOpened = false;
  continueSent = false;
  /** Whether the connection stays open after this response; settled when the head is written. */
  keepAlive: boolean;
  headWritten = false;
  /** The head of a streamed response, written with its first chunk. */
  pendingHead: string | null = null;
  chunkedResponse = false;
  /** The response is complete or abandoned: nothing more is written for it. */
  finished = false;

  constructor(connection: HttpConnection, head: RequestHead, started: number) {
    this.#connection = connection;
    this.head = head;
    this.started = started;
    this.keepAlive = head.keepAlive;
    this.remaining = head.chunked ? 0 : Math.max(head.contentLength, 0);
    this.chunks = head.chunked ? new ChunkedDecoder(MAX_HEAD_BYTES) : null;
    this.bodyDone = !head.chunked && this.remaining === 0;
    this.body = this.bodyDone ? null : new RequestBodyQueue(BODY_HIGH_WATER_MARK, (full) => connection.bodyFull(full));
  }

  openBody = (): BodySource => {
    this.bodyOpened = true;
    // "Expect: 100-continue": ask for the body only once the app reads it, so a
    // request refused before that (413 by Content-Length) never uploads it.
    if (this.head.expectContinue && !this.headWritten && !this.continueSent) {
      this.continueSent = true;
      this.#connection.write(CONTINUE);
    }
    return this.body ?? NO_BODY;
  };

  /** The status line and fields; decides the framing and whether the connection is kept. */
  #responseHead(status: number, headers: HeaderList, streamed: boolean): string {
    this.headWritten = true;
    let declared = false;
    let head = statusLine(status);
    for (const [name, value] of headers) {
      if (name === 'content-length') declared = true;
      head += `${name}: ${value}\r\n`;
    }
    if (streamed && !declared) {
      if (this.head.httpVersion === '1.1') {
        this.chunkedResponse = true;
        head += 'Transfer-Encoding: chunked\r\n';
      } else {
        // HTTP/1.0 has no chunks: the end of the connection ends the body.
        this.keepAlive = false;
      }
    }
    if (!this.bodyDone) {
      // A body the app started and did not finish (a 413 on a chunked upload),
      // one it never opened that is large or of unknown length, or one whose
      // client still waits for 100 Continue: what follows on the connection
      // is not a next request we could find, so the connection ends.
      const unreadable = this.bodyOpened || this.chunks !== null || this.remaining > DISCARD_LIMIT
        || (this.head.expectContinue && !this.continueSent);
      if (unreadable) this.keepAlive = false;
    }
    const { context } = this.#connection;
    if (context.draining) this.keepAlive = false;
    return `${head}${this.keepAlive ? context.keepAliveFields : 'Connection: close\r\n'}\r\n`;
  }

  sendWhole(status: number, headers: HeaderList, body: Uint8Array): void {
    if (this.finished) return;
    const head = this.#responseHead(status, headers, false);
    const payload = Buffer.allocUnsafe(head.length + body.byteLength);
    payload.write(head, 0, 'latin1');
    payload.set(body, head.length);
    this.#connection.write(payload);
    this.#connection.finish(this);
  }

  sendHead(status: number, headers: HeaderList): void {
    if (this.finished) return;
    this.pendingHead = this.#responseHead(status, headers, true);
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.finished) return;
    const connection = this.#connection;
    const socket = connection.socket;
    socket.cork();
    this.#flushHead();
    let ok: boolean;
    if (this.chunkedResponse) {
      connection.write(`${chunk.byteLength.toString(16)}\r\n`);
      connection.write(chunk);
      ok = connection.write(CHUNK_END);
    } else {
      ok = connection.write(chunk);
    }
    socket.uncork();
    if (!ok) await connection.drained();
  }

  end(): void {
    if (this.finished) return;
    this.#flushHead();
    if (this.chunkedResponse) this.#connection.write(LAST_CHUNK);
    this.#connection.finish(this);
  }

  abort(): void {
    if (this.finished) return;
    // No terminating chunk, or fewer bytes than the Content-Length: the client
    // sees a truncated body, not a complete one, once the connection ends.
    this.#flushHead();
    this.keepAlive = false;
    this.#connection.finish(this);
  }

  #flushHead(): void {
    if (this.pendingHead === null) return;
    this.#connection.write(this.pendingHead);
    this.pendingHead = null;
  }
  // No logError: the handler reports app errors to the server's logger.
}

type Phase = 'head' | 'body' | 'answering' | 'closing';

export class HttpConnection {
  readonly socket: Socket;
  readonly context: ConnectionContext;
  readonly #onClosed: (connection: HttpConnection) => void;
  #phase: Phase = 'head';
  /** Input not consumed yet: the start of a head, or bytes of a pipelined request. */
  #buffer: Buffer | null = null;
  /** Bytes at the start of #buffer already searched for the end of the head. */
  #scanned = 0;
  #exchange: Exchange | null = null;
  /** Between requests on a kept connection, before the next one's first byte. */
  #idle = false;
  /** When the current wait began (ms): the request's start, the idle time, or the close. */
  #since: number;
  #pausedForBody = false;
  #processing = false;
  /** Made on the first wait: most connections never fill their socket. */
  #drain: SocketDrain | null = null;

  constructor(socket: Socket, context: ConnectionContext, onClosed: (connection: HttpConnection) => void) {
    this.socket = socket;
    this.context = context;
    this.#onClosed = onClosed;
    this.#since = Date.now();
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    logSocketErrors(socket, context.logger, 'tsgi: http connection');
    socket.on('close', () => this.#onClose());
  }

  /** No request in flight and none begun: closing now loses nothing. */
  get idle(): boolean {
    return this.#phase === 'head' && this.#exchange === null && (this.#buffer === null || this.#buffer.length === 0);
  }

  write(data: Uint8Array | string): boolean {
    if (this.socket.destroyed || this.socket.writableEnded) return false;
    return typeof data === 'string' ? this.socket.write(data, 'latin1') : this.socket.write(data);
  }

  drained(): Promise<void> {
    this.#drain ??= new SocketDrain(this.socket);
    return this.#drain.wait();
  }

  /** The request body queue is over (or back under) its high-water mark. */
  bodyFull(full: boolean): void {
    this.#pausedForBody = full;
    if (full) this.socket.pause();
    else if (!this.socket.destroyed) this.socket.resume();
  }

  /** Called by the server once a second: enforces the connection's timeouts. */
  checkTimeouts(now: number): void {
    const { keepAliveTimeout, headersTimeout, requestTimeout } = this.context;
    switch (this.#phase) {
      case 'head':
        if (this.#idle) {
          if (now - this.#since > keepAliveTimeout) this.socket.destroy();
        } else if (headersTimeout > 0 && now - this.#since > headersTimeout) {
          this.#refuse(new HttpParseError(408, 'the request head did not arrive in time'));
        }
        return;
      case 'body': {
        const exchange = this.#exchange!;
        if (requestTimeout > 0 && now - exchange.started > requestTimeout) {
          this.#refuse(new HttpParseError(408, 'the request body did not arrive in time'));
        }
        return;
      }
      case 'closing':
        if (now - this.#since > CLOSE_LINGER_MS) this.socket.destroy();
        return;
      case 'answering':
        // The app's own deadline (appTimeoutMs) covers this.
        return;
    }
  }

  /** Graceful stop: an idle kept connection closes now, a busy one after its response (Connection: close). */
  closeIfIdle(): void {
    if (this.idle) this.socket.destroy();
  }

  #onData(chunk: Buffer): void {
    if (this.#phase === 'closing') return;
    this.#buffer = this.#buffer === null || this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    this.#process();
  }

  /** Consumes #buffer as far as the current phase allows. */
  #process(): void {
    if (this.#processing) return;
    this.#processing = true;
    try {
      for (;;) {
        const buffer = this.#buffer;
        if (buffer === null || buffer.length === 0 || this.socket.destroyed) return;
        if (this.#phase === 'head') {
          if (!this.#readHead(buffer)) return;
        } else if (this.#phase === 'body') {
          this.#readBody(buffer);
        } else {
          // 'answering': a pipelined request waits for this response; a
          // client that sends more than a head's worth meanwhile is paused.
          if (buffer.length > MAX_HEAD_BYTES) this.socket.pause();
          return;
        }
      }
    } catch (error) {
      if (!(error instanceof HttpParseError)) throw error;
      this.#refuse(error);
    } finally {
      this.#processing = false;
    }
  }

  /** Parses a head out of `buffer` and starts its request; false if it has not all arrived. */
  #readHead(buffer: Buffer): boolean {
    if (this.#idle) {
      // The next request's first byte: its head timeout starts now.
      this.#idle = false;
      this.#since = Date.now();
    }
    if (this.#scanned === 0) {
      const start = leadingEmptyLines(buffer);
      if (start > 0) {
        this.#buffer = buffer = buffer.subarray(start);
        if (buffer.length === 0) return false;
      }
    }
    const end = findHeadEnd(buffer, this.#scanned);
    if (end === -1 || end > MAX_HEAD_BYTES + 4) {
      if (buffer.length > MAX_HEAD_BYTES) throw new HttpParseError(431, `a request head over ${MAX_HEAD_BYTES} bytes`);
      this.#scanned = buffer.length;
      return false;
    }
    this.#scanned = 0;
    // Without the empty line: parseRequestHead wants the lines, each with its CRLF.
    const head = parseRequestHead(buffer.toString('latin1', 0, end - 2));
    this.#buffer = end < buffer.length ? buffer.subarray(end) : null;
    this.#begin(head);
    return true;
  }

  #readBody(buffer: Buffer): void {
    const exchange = this.#exchange!;
    let consumed: number;
    if (exchange.chunks) {
      consumed = exchange.chunks.decode(buffer, 0, (data) => exchange.body?.push(data));
      if (exchange.chunks.done) exchange.bodyDone = true;
    } else {
      consumed = Math.min(exchange.remaining, buffer.length);
      exchange.body?.push(consumed === buffer.length ? buffer : buffer.subarray(0, consumed));
      exchange.remaining -= consumed;
      if (exchange.remaining === 0) exchange.bodyDone = true;
    }
    this.#buffer = consumed < buffer.length ? buffer.subarray(consumed) : null;
    if (!exchange.bodyDone) return;
    exchange.body?.end();
    if (exchange.finished) this.#next();
    else this.#phase = 'answering';
  }

  #begin(head: RequestHead): void {
    const exchange = new Exchange(this, head, this.#since);
    this.#exchange = exchange;
    this.#phase = exchange.bodyDone ? 'answering' : 'body';
    let environ: Record<string, string>;
    try {
      environ = environFromHead(head, this.socket, this.context);
    } catch (error) {
      if (!(error instanceof InvalidRequestTarget)) throw error;
      this.context.logger.limited('bad-request', () => `tsgi: 400 Bad Request: ${error.message}`);
      exchange.keepAlive = false;
      const body = errorBody(400);
      exchange.sendWhole(400, errorHeaders(body), Buffer.from(body));
      this.context.onRequestDone?.();
      return;
    }
    const { bodyLimit, appTimeoutMs, logger, onRequestDone } = this.context;
    const options: HandleOptions = { signal: exchange.signal, logger, bodyLimit, appTimeoutMs };
    handleRequest(this.context.app, environ, exchange.openBody, exchange, options)
      .catch((error: unknown) => {
        // handleRequest never throws; this is a bug in the transport itself.
        logger.write(`tsgi: http transport failed: ${error instanceof Error ? error.stack : String(error)}`);
        this.socket.destroy();
      })
      .finally(() => onRequestDone?.());
  }

  /** The response of `exchange` is written (or abandoned): keep the connection for the next request, or close it. */
  finish(exchange: Exchange): void {
    if (exchange.finished) return;
    exchange.finished = true;
    if (this.#exchange !== exchange) return;
    if (!exchange.keepAlive) {
      exchange.body?.discard();
      this.#close();
      return;
    }
    if (!exchange.bodyDone) {
      // The app answered without reading the (small) body: read it away, then go on.
      exchange.body?.discard();
      if (this.#pausedForBody) this.bodyFull(false);
      return;
    }
    this.#next();
  }

  #next(): void {
    this.#exchange = null;
    this.#phase = 'head';
    this.#idle = true;
    this.#since = Date.now();
    if (this.socket.isPaused() && !this.#pausedForBody) this.socket.resume();
    // A pipelined request already here; not from inside #process (it loops on its own).
    if (this.#buffer !== null && !this.#processing) queueMicrotask(() => this.#process());
  }

  /** Half-close after what was written, keep reading (and dropping) until the client hangs up. */
  #close(): void {
    this.#phase = 'closing';
    this.#since = Date.now();
    this.#buffer = null;
    if (this.socket.isPaused()) this.socket.resume();
    this.socket.end();
  }

  /** A request the server refuses itself: its answer, then the connection ends. */
  #refuse(error: HttpParseError): void {
    if (this.#phase === 'closing' || this.socket.destroyed) return;
    this.context.logger.limited('bad-request', () => `tsgi: ${error.status} ${reasonPhrase(error.status)} from ${peerName(this.socket)}: ${error.message}`);
    const exchange = this.#exchange;
    if (exchange && !exchange.finished) {
      // The body broke under a running app: it gets an error from its body, and
      // the client our answer if none was begun, else a cut connection.
      exchange.signal.abort(error);
      exchange.body?.fail(error);
      exchange.finished = true;
      if (exchange.headWritten) {
        this.socket.destroy();
        return;
      }
    }
    const body = errorBody(error.status);
    let head = statusLine(error.status);
    for (const [name, value] of errorHeaders(body)) head += `${name}: ${value}\r\n`;
    this.write(`${head}Connection: close\r\n\r\n${body}`);
    this.#close();
  }

  #onClose(): void {
    const exchange = this.#exchange;
    if (exchange && !exchange.finished) {
      exchange.finished = true;
      const reason = new DOMException('the client closed the connection', 'AbortError');
      exchange.signal.abort(reason);
      exchange.body?.fail(reason);
    }
    this.#buffer = null;
    this.#onClosed(this);
  }
}

/** The fields of the gateway's own answer with `body` (errorBody). */
function errorHeaders(body: string): HeaderList {
  return [
    ['content-type', ERROR_CONTENT_TYPE],
    ['content-length', String(Buffer.byteLength(body))],
  ];
}
