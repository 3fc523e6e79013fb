/**
 * A small FastCGI client: enough to health-check a FastCGI app without a web
 * server, and for tests that need to put exact records on the wire
 * (interleaving, aborts, malformed input) which no web server will send.
 */
import { connect, type NetConnectOpts, type Socket } from 'node:net';
import {
  decodeEndRequestBody,
  decodeNameValuePairs,
  encodeBeginRequestBody,
  encodeNameValuePairs,
  encodeRecord,
  encodeStream,
  FCGI_ABORT_REQUEST,
  FCGI_BEGIN_REQUEST,
  FCGI_END_REQUEST,
  FCGI_GET_VALUES,
  FCGI_GET_VALUES_RESULT,
  FCGI_KEEP_CONN,
  FCGI_PARAMS,
  FCGI_RESPONDER,
  FCGI_STDERR,
  FCGI_STDIN,
  FCGI_STDOUT,
  type FastCgiRecord,
  type NameValuePairs,
  RecordDecoder,
} from './protocol.ts';

export interface FastCgiResult {
  stdout: Buffer;
  stderr: string;
  appStatus: number;
  protocolStatus: number;
  /** Every record received for this request, in order. */
  records: FastCgiRecord[];
}

export class FastCgiClient {
  readonly socket: Socket;
  readonly closed: Promise<void>;
  readonly #decoder = new RecordDecoder();
  readonly #received: FastCgiRecord[] = [];
  /**
   * Per request id, where its next request's records start in #received: just
   * after the END_REQUEST that result() last returned for that id. A kept-alive
   * connection may reuse an id once its request has ended (spec 3.3).
   */
  readonly #nextRequestStart = new Map<number, number>();
  /** Where the answer to the next FCGI_GET_VALUES starts: after the last one returned. */
  #nextValuesStart = 0;
  #waiters: Array<() => void> = [];
  #isClosed = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      for (const record of this.#decoder.push(chunk)) {
        this.#received.push({ ...record, content: Buffer.from(record.content) });
      }
      this.#wake();
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => socket.once('close', () => {
      this.#isClosed = true;
      this.#wake();
      resolve();
    }));
  }

  static connect(target: NetConnectOpts): Promise<FastCgiClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(target);
      socket.once('connect', () => resolve(new FastCgiClient(socket)));
      socket.once('error', reject);
    });
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** Raw bytes, for tests that send what no web server would. */
  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  begin(requestId: number, { keepConn = false, role = FCGI_RESPONDER } = {}): void {
    this.write(encodeRecord(FCGI_BEGIN_REQUEST, requestId, encodeBeginRequestBody(role, keepConn ? FCGI_KEEP_CONN : 0)));
  }

  /** All params and the empty record that ends them. */
  params(requestId: number, params: Record<string, string> | NameValuePairs): void {
    const pairs = Array.isArray(params) ? params : Object.entries(params);
    for (const record of encodeStream(FCGI_PARAMS, requestId, encodeNameValuePairs(pairs))) this.write(record);
    this.write(encodeRecord(FCGI_PARAMS, requestId));
  }

  /** Body bytes; call with end=true (or an empty chunk) to send the empty record that ends STDIN. */
  stdin(requestId: number, data: Uint8Array, end = false): void {
    for (const record of encodeStream(FCGI_STDIN, requestId, data)) this.write(record);
    if (end || data.byteLength === 0) this.write(encodeRecord(FCGI_STDIN, requestId));
  }

  abort(requestId: number): void {
    this.write(encodeRecord(FCGI_ABORT_REQUEST, requestId));
  }

  getValues(names: string[]): void {
    this.write(encodeRecord(FCGI_GET_VALUES, 0, encodeNameValuePairs(names.map((name) => [name, '']))));
  }

  /** Every record received so far. */
  get received(): readonly FastCgiRecord[] {
    return this.#received;
  }

  /**
   * Waits until a received record at index `from` or later matches; null if
   * the connection closes first.
   */
  async waitFor(match: (record: FastCgiRecord) => boolean, from = 0): Promise<FastCgiRecord | null> {
    const at = await this.#indexOf(match, from);
    return at < 0 ? null : this.#received[at]!;
  }

  /** The index in #received of the first record from `from` on that matches; -1 if the connection closes first. */
  async #indexOf(match: (record: FastCgiRecord) => boolean, from: number): Promise<number> {
    for (let seen = from; ;) {
      for (; seen < this.#received.length; seen++) {
        if (match(this.#received[seen]!)) return seen;
      }
      if (this.#isClosed) return -1;
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  async getValuesResult(): Promise<Map<string, string>> {
    const at = await this.#indexOf((r) => r.type === FCGI_GET_VALUES_RESULT, this.#nextValuesStart);
    if (at < 0) throw new Error('connection closed before FCGI_GET_VALUES_RESULT');
    this.#nextValuesStart = at + 1;
    return new Map(decodeNameValuePairs(this.#received[at]!.content));
  }

  /**
   * Collects one request's STDOUT and STDERR until its END_REQUEST. Only
   * records after the END_REQUEST of the previous request with this id count,
   * so an id reused on a kept-alive connection gives the new request's response.
   */
  async result(requestId: number): Promise<FastCgiResult> {
    const from = this.#nextRequestStart.get(requestId) ?? 0;
    const at = await this.#indexOf((r) => r.type === FCGI_END_REQUEST && r.requestId === requestId, from);
    if (at < 0) throw new Error(`connection closed before FCGI_END_REQUEST for request ${requestId}`);
    this.#nextRequestStart.set(requestId, at + 1);
    const records = this.#received.slice(from, at).filter((r) => r.requestId === requestId);
    return {
      stdout: Buffer.concat(records.filter((r) => r.type === FCGI_STDOUT).map((r) => r.content)),
      stderr: Buffer.concat(records.filter((r) => r.type === FCGI_STDERR).map((r) => r.content)).toString('utf8'),
      ...decodeEndRequestBody(this.#received[at]!.content),
      records,
    };
  }

  close(): void {
    this.socket.end();
  }
}

/** One Responder request on a fresh connection. */
export async function fastCgiRequest(
  target: NetConnectOpts,
  params: Record<string, string>,
  body: Uint8Array = new Uint8Array(0),
): Promise<FastCgiResult> {
  const client = await FastCgiClient.connect(target);
  try {
    client.begin(1);
    client.params(1, params);
    client.stdin(1, body, true);
    return await client.result(1);
  } finally {
    client.socket.destroy();
  }
}
