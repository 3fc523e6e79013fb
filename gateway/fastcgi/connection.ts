/**
 * One FastCGI connection, Responder role only (spec sections 3 to 6), laid
 * out like Go's net/http/fcgi child.go: decode records, keep a table of the
 * requests alive on this connection, run each through the shared
 * handleRequest and write its response back as STDOUT records in the CGI
 * response format (over FastCGI, STDOUT carries exactly what a CGI script
 * prints).
 *
 * Rules kept here:
 * - several requests may be in flight on one connection (FCGI_MPXS_CONNS);
 * - records for a request id that is not active are ignored (spec 3.3), which
 *   is also how STDIN left over after a response is discarded;
 * - input that is not FastCGI closes this connection only, with one log line;
 * - both directions have backpressure: the socket is paused while an app is
 *   behind on its body, and STDOUT waits for the socket to drain.
 */
import type { Socket } from 'node:net';
import { cgiHead } from '../cgi-response.ts';
import { handleRequest, type HandleOptions, type ResponseWriter } from '../handler.ts';
import { toLogger, type FloodKind, type Logger, type LogSink } from '../logger.ts';
import { RequestSignal } from '../request-signal.ts';
import { SocketDrain } from '../socket-drain.ts';
import { logSocketErrors, peerName } from '../socket-peer.ts';
import type { Environ, TsgiApp } from '../types.ts';
import { environFromParams } from './params.ts';
import {
  decodeBeginRequestBody,
  decodeNameValuePairs,
  encodeEndRequestBody,
  encodeNameValuePairs,
  encodeRecord,
  encodeResponseEnd,
  encodeStream,
  encodeUnknownTypeBody,
  FastCgiProtocolError,
  FCGI_ABORT_REQUEST,
  FCGI_BEGIN_REQUEST,
  FCGI_CANT_MPX_CONN,
  FCGI_DATA,
  FCGI_END_REQUEST,
  FCGI_GET_VALUES,
  FCGI_GET_VALUES_RESULT,
  FCGI_KEEP_CONN,
  FCGI_MAX_CONNS,
  FCGI_MAX_REQS,
  FCGI_MPXS_CONNS,
  FCGI_OVERLOADED,
  FCGI_PARAMS,
  FCGI_REQUEST_COMPLETE,
  FCGI_RESPONDER,
  FCGI_STDERR,
  FCGI_STDIN,
  FCGI_STDOUT,
  FCGI_UNKNOWN_ROLE,
  FCGI_UNKNOWN_TYPE,
  type FastCgiRecord,
  RecordDecoder,
  recordTypeName,
} from './protocol.ts';
import { RequestBodyQueue } from '../request-body-queue.ts';

const EMPTY = new Uint8Array(0);

export const DEFAULT_MAX_CONNS = 100;
export const DEFAULT_MAX_REQS = 100;
export const DEFAULT_MAX_PARAMS_BYTES = 64 * 1024;
export const DEFAULT_STDIN_HIGH_WATER_MARK = 256 * 1024;

export interface FastCgiConnectionOptions extends Omit<HandleOptions, 'logger'> {
  /** Answered to FCGI_GET_VALUES; the server enforces it. */
  maxConns?: number;
  /** Concurrent requests in this process (all connections); more get FCGI_OVERLOADED. */
  maxReqs?: number;
  /** Accept more than one request at a time on a connection (FCGI_MPXS_CONNS). */
  multiplex?: boolean;
  /** FCGI_PARAMS bytes one request may send; more closes the connection. */
  maxParamsBytes?: number;
  /** Unread request body bytes per request before the socket is paused. */
  stdinHighWaterMark?: number;
  /** Where errors go (rate-limited where a peer sets the pace); a plain sink is wrapped in a Logger. */
  log?: Logger | LogSink;
  /** Called once the socket has closed and the connection's requests are released. */
  onClose?: (connection: FastCgiConnection) => void;
}

/** State shared by every connection of one server: the process-wide request count. */
export interface RequestSlots {
  active: number;
}

interface ActiveRequest {
  readonly id: number;
  readonly keepConn: boolean;
  readonly body: RequestBodyQueue;
  /** Made into an AbortSignal only if the app asks for one (see request-signal.ts). */
  readonly signal: RequestSignal;
  params: Buffer[];
  paramsBytes: number;
  started: boolean;
  /** END_REQUEST sent (or the connection is gone): nothing more is written for it. */
  finished: boolean;
  stderrUsed: boolean;
}

export class RequestAborted extends Error {
  constructor(why: string) {
    super(why);
    this.name = 'RequestAborted';
  }
}

export class FastCgiConnection {
  readonly socket: Socket;
  readonly #app: TsgiApp;
  readonly #slots: RequestSlots;
  readonly #maxConns: number;
  readonly #maxReqs: number;
  readonly #multiplex: boolean;
  readonly #maxParamsBytes: number;
  readonly #stdinHighWaterMark: number;
  readonly #bodyLimit: number | undefined;
  readonly #appTimeoutMs: number | undefined;
  readonly #logger: Logger;
  readonly #decoder = new RecordDecoder();
  readonly #requests = new Map<number, ActiveRequest>();
  /** Requests whose unread body is over the high-water mark: while any, the socket is paused. */
  readonly #fullBodies = new Set<number>();
  /** Made on the first wait: most connections never fill their socket. */
  #drain: SocketDrain | null = null;
  /** A request without FCGI_KEEP_CONN ended, or the server is shutting down. */
  #endWhenIdle = false;
  #draining = false;
  /** Whether any request has finished: until one has, the web server may still be sending its first. */
  #finishedAny = false;
  /**
   * Finished (or rejected) requests whose FCGI_STDIN has not ended yet: the
   * web server may still send records for them, which are read and ignored.
   */
  readonly #stdinOwed = new Set<number>();
  /** Inside #onData's loop: the records after the current one are already here. */
  #dispatching = false;
  readonly #onClosed: ((connection: FastCgiConnection) => void) | undefined;

  constructor(socket: Socket, app: TsgiApp, slots: RequestSlots, options: FastCgiConnectionOptions = {}) {
    this.socket = socket;
    this.#app = app;
    this.#slots = slots;
    this.#maxConns = options.maxConns ?? DEFAULT_MAX_CONNS;
    this.#maxReqs = options.maxReqs ?? DEFAULT_MAX_REQS;
    this.#multiplex = options.multiplex ?? true;
    this.#maxParamsBytes = options.maxParamsBytes ?? DEFAULT_MAX_PARAMS_BYTES;
    this.#stdinHighWaterMark = options.stdinHighWaterMark ?? DEFAULT_STDIN_HIGH_WATER_MARK;
    this.#bodyLimit = options.bodyLimit;
    this.#appTimeoutMs = options.appTimeoutMs;
    this.#logger = toLogger(options.log);
    this.#onClosed = options.onClose;

    socket.setNoDelay?.(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    logSocketErrors(socket, this.#logger, 'fastcgi: connection');
    socket.on('close', () => this.#onClose());
  }

  /** Requests in flight on this connection. */
  get activeRequests(): number {
    return this.#requests.size;
  }

  /**
   * The server is stopping but still lingers: requests may still come, and the
   * connection ends after the next one finishes (as if FCGI_KEEP_CONN were off).
   */
  closeAfterResponse(): void {
    this.#endWhenIdle = true;
  }

  /** Graceful shutdown: refuse new requests, close as soon as the ones in flight are done. */
  closeWhenIdle(): void {
    this.#draining = true;
    this.#endWhenIdle = true;
    this.#endIfIdle();
  }

  destroy(): void {
    this.socket.destroy();
  }

  #onData(chunk: Buffer): void {
    this.#dispatching = true;
    try {
      for (const record of this.#decoder.push(chunk)) {
        if (this.socket.destroyed) return;
        this.#dispatch(record);
      }
    } catch (error) {
      const reason = error instanceof FastCgiProtocolError ? error.message : `internal error: ${(error as Error)?.stack ?? error}`;
      this.#closeBroken('malformed-input', reason);
      return;
    } finally {
      this.#dispatching = false;
    }
    // A request answered while its records were being read (a synchronous
    // app) ends here, once the rest of the chunk, usually its empty
    // FCGI_STDIN, has been seen: see #endIfIdle.
    this.#endIfIdle();
  }

  #closeBroken(kind: FloodKind, reason: string): void {
    if (this.socket.destroyed) return;
    this.#logger.limited(kind, () => `fastcgi: closing connection ${peerName(this.socket)}: ${reason}`);
    this.socket.destroy();
  }

  #dispatch(record: FastCgiRecord): void {
    const { type, requestId, content } = record;
    if (requestId === 0) {
      this.#management(type, content);
      return;
    }
    switch (type) {
      case FCGI_BEGIN_REQUEST:
        this.#begin(requestId, content);
        return;
      case FCGI_ABORT_REQUEST: {
        const request = this.#requests.get(requestId);
        if (request) this.#abort(request, 'the web server sent FCGI_ABORT_REQUEST');
        return;
      }
      case FCGI_PARAMS: {
        const request = this.#requests.get(requestId);
        if (request) this.#params(request, content);
        return;
      }
      case FCGI_STDIN: {
        const request = this.#requests.get(requestId);
        if (!request) {
          // Left over from a request already answered (or rejected): ignored, but its end is
          // noted (#onData ends the connection after the chunk if that was all it waited for).
          if (content.byteLength === 0) this.#stdinOwed.delete(requestId);
          return;
        }
        if (content.byteLength === 0) request.body.end();
        // Copied: the record is a slice of a socket chunk the decoder may keep whole.
        else request.body.push(Buffer.from(content));
        return;
      }
      case FCGI_DATA:
        // Only the Filter role reads FCGI_DATA, and this application never takes that role.
        return;
      default:
        throw new FastCgiProtocolError(`unexpected ${recordTypeName(type)} record for request ${requestId}`);
    }
  }

  #management(type: number, content: Buffer): void {
    if (type !== FCGI_GET_VALUES) {
      this.#send(encodeRecord(FCGI_UNKNOWN_TYPE, 0, encodeUnknownTypeBody(type)));
      return;
    }
    const known = new Map([
      [FCGI_MAX_CONNS, String(this.#maxConns)],
      [FCGI_MAX_REQS, String(this.#maxReqs)],
      [FCGI_MPXS_CONNS, this.#multiplex ? '1' : '0'],
    ]);
    // Only what was asked, each once (spec 4.1).
    const answer = new Map<string, string>();
    for (const [name] of decodeNameValuePairs(content)) {
      const value = known.get(name);
      if (value !== undefined) answer.set(name, value);
    }
    this.#send(encodeRecord(FCGI_GET_VALUES_RESULT, 0, encodeNameValuePairs(answer)));
  }

  #begin(id: number, content: Buffer): void {
    const { role, flags } = decodeBeginRequestBody(content);
    const keepConn = (flags & FCGI_KEEP_CONN) !== 0;
    if (this.#requests.has(id)) throw new FastCgiProtocolError(`FCGI_BEGIN_REQUEST for request ${id}, which is still active`);
    // The web server has moved on: nothing more comes for an earlier request with this id.
    this.#stdinOwed.delete(id);
    if (role !== FCGI_RESPONDER) return this.#reject(id, FCGI_UNKNOWN_ROLE, keepConn);
    if (this.#draining) return this.#reject(id, FCGI_OVERLOADED, keepConn);
    if (!this.#multiplex && this.#requests.size > 0) return this.#reject(id, FCGI_CANT_MPX_CONN, keepConn);
    if (this.#slots.active >= this.#maxReqs) return this.#reject(id, FCGI_OVERLOADED, keepConn);

    this.#slots.active++;
    this.#requests.set(id, {
      id,
      keepConn,
      body: new RequestBodyQueue(this.#stdinHighWaterMark, (full) => this.#bodyFull(id, full)),
      signal: new RequestSignal(),
      params: [],
      paramsBytes: 0,
      started: false,
      finished: false,
      stderrUsed: false,
    });
  }

  #reject(id: number, protocolStatus: number, keepConn: boolean): void {
    this.#send(encodeRecord(FCGI_END_REQUEST, id, encodeEndRequestBody(0, protocolStatus)));
    // Its PARAMS and STDIN may still come, and are ignored. (Always called while a
    // chunk is dispatched: #onData ends the connection after it, if it should.)
    this.#stdinOwed.add(id);
    if (!keepConn) this.#endWhenIdle = true;
  }

  #params(request: ActiveRequest, content: Buffer): void {
    if (request.started) throw new FastCgiProtocolError(`FCGI_PARAMS for request ${request.id} after its empty end-of-params record`);
    if (content.byteLength > 0) {
      request.paramsBytes += content.byteLength;
      if (request.paramsBytes > this.#maxParamsBytes) {
        throw new FastCgiProtocolError(`FCGI_PARAMS of request ${request.id} exceed the limit of ${this.#maxParamsBytes} bytes`);
      }
      request.params.push(Buffer.from(content));
      return;
    }
    request.started = true;
    const environ = environFromParams(request.params.length === 1 ? request.params[0]! : Buffer.concat(request.params));
    request.params = [];
    this.#run(request, environ);
  }

  #run(request: ActiveRequest, environ: Environ): void {
    // One shape for every request; undefined limits mean the handler's defaults.
    const options: HandleOptions = { signal: request.signal, logger: this.#logger, bodyLimit: this.#bodyLimit, appTimeoutMs: this.#appTimeoutMs };
    handleRequest(this.#app, environ, () => request.body, this.#writer(request), options)
      .catch((error: unknown) => this.#logger.limited('app-error', () => `fastcgi: request ${request.id}: ${(error as Error)?.stack ?? error}`))
      // handleRequest ends every response through the writer; this only guards against a writer that threw.
      .finally(() => this.#complete(request, 0));
  }

  #writer(request: ActiveRequest): ResponseWriter {
    return {
      sendHead: (status, headers) => this.#writeStream(request, FCGI_STDOUT, Buffer.from(cgiHead(status, headers), 'latin1')),
      // Head, body and END_REQUEST in one socket write (cgiHead is latin1: header values are byte strings).
      sendWhole: (status, headers, body) => {
        const head = cgiHead(status, headers);
        const payload = Buffer.allocUnsafe(head.length + body.byteLength);
        payload.write(head, 0, 'latin1');
        payload.set(body, head.length);
        this.#complete(request, 0, payload);
      },
      write: (chunk) => this.#writeStream(request, FCGI_STDOUT, chunk),
      end: () => this.#complete(request, 0),
      abort: () => {
        if (request.finished) return;
        if (this.#requests.size === 1) {
          // A complete-looking END_REQUEST would let the web server pass a truncated body off as whole;
          // a dropped connection makes it abort the client's response instead.
          this.#closeBroken('app-error', `request ${request.id} failed after its head was sent; dropping the connection so the truncation is visible`);
        } else {
          // Other requests share this connection: don't kill them, report failure in appStatus.
          this.#complete(request, 1);
        }
      },
      logError: (message) => {
        if (request.finished || !this.socket.writable) {
          // Nobody is left to read FCGI_STDERR. Usually the app tripped over the abort itself
          // (its body stream failed), so one line says enough.
          const why = request.signal.aborted ? 'after the request was aborted' : 'after the response ended';
          // Already admitted by the handler's rate limit: write, don't count twice.
          this.#logger.write(`fastcgi: request ${request.id} ${why}: ${message.split('\n', 1)[0]}`);
          return;
        }
        request.stderrUsed = true;
        for (const record of encodeStream(FCGI_STDERR, request.id, Buffer.from(`${message}\n`, 'utf8'))) this.#send(record);
      },
    };
  }

  /** Writes one stream's bytes as records, waiting for the socket to drain between them. */
  async #writeStream(request: ActiveRequest, type: number, bytes: Uint8Array): Promise<void> {
    for (const record of encodeStream(type, request.id, bytes)) {
      // An aborted request's output is dropped; the app notices through its signal.
      if (request.finished || !this.socket.writable) return;
      if (!this.socket.write(record)) await this.#drained();
    }
  }

  #drained(): Promise<void> {
    this.#drain ??= new SocketDrain(this.socket);
    return this.#drain.wait();
  }

  #send(record: Buffer): void {
    if (this.socket.writable) this.socket.write(record);
  }

  /** Sends the rest of STDOUT (`payload`), ends the STDOUT (and STDERR) streams and sends END_REQUEST: one write. */
  #complete(request: ActiveRequest, appStatus: number, payload: Uint8Array = EMPTY): void {
    if (request.finished) return;
    request.finished = true;
    this.#send(encodeResponseEnd(request.id, payload, appStatus, FCGI_REQUEST_COMPLETE, request.stderrUsed));
    this.#release(request);
  }

  #abort(request: ActiveRequest, why: string): void {
    const reason = new RequestAborted(why);
    request.signal.abort(reason);
    request.body.fail(reason);
    this.#complete(request, 0);
  }

  #release(request: ActiveRequest): void {
    if (this.#requests.get(request.id) !== request) return;
    this.#requests.delete(request.id);
    this.#slots.active--;
    this.#finishedAny = true;
    if (!request.body.ended) this.#stdinOwed.add(request.id);
    // Whatever STDIN is still queued or on its way is nobody's now.
    request.body.discard();
    if (!request.keepConn) this.#endWhenIdle = true;
    this.#endIfIdle();
  }

  #endIfIdle(): void {
    if (!this.#endWhenIdle || this.#requests.size > 0 || this.socket.destroyed || this.#dispatching) return;
    if (this.socket.writableLength === 0 && this.#decoder.pendingBytes === 0 && this.#finishedAny && this.#stdinOwed.size === 0) {
      // Everything we wrote is in the kernel and the web server has sent all it
      // meant to: a plain close, as Go's fcgi child and php-fpm do. It spares the
      // shutdown(), the wait for the peer's EOF and its read: without
      // FCGI_KEEP_CONN (lighttpd, mod_fcgid) that is a round trip per request.
      // (Also after a half-close below, once the owed input has come.)
      this.socket.destroy();
      return;
    }
    // Output still queued, or input still due (a body the app did not read):
    // a half-close flushes ours and keeps reading theirs, so that closing with
    // unread bytes never makes the kernel reset the connection under the reply.
    if (!this.socket.writableEnded) this.socket.end();
  }

  #bodyFull(id: number, full: boolean): void {
    if (full) this.#fullBodies.add(id);
    else this.#fullBodies.delete(id);
    if (this.#fullBodies.size > 0) this.socket.pause();
    else if (!this.socket.destroyed) this.socket.resume();
  }

  #onClose(): void {
    for (const request of [...this.#requests.values()]) {
      request.finished = true;
      const reason = new RequestAborted('the FastCGI connection closed');
      request.signal.abort(reason);
      request.body.fail(reason);
      this.#release(request);
    }
    this.#onClosed?.(this);
  }
}
