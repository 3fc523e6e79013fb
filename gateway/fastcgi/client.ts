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

export interface CgiResponse {
  status: number;
  headers: Array<[string, string]>;
  body: Buffer;
}

/** Splits a CGI response ("Status: 200 OK", headers, blank line, body) as a web server would. */
export function parseCgiResponse(stdout: Buffer): CgiResponse {
  let end = stdout.indexOf('\r\n\r\n');
  let separator = 4;
  if (end < 0) {
    end = stdout.indexOf('\n\n');
    separator = 2;
  }
  if (end < 0) throw new Error(`no end of headers in CGI response: ${JSON.stringify(stdout.subarray(0, 200).toString('latin1'))}`);
  const headers: Array<[string, string]> = [];
  let status = 200;
  for (const line of stdout.subarray(0, end).toString('latin1').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'status') status = Number.parseInt(value, 10);
    else headers.push([name, value]);
  }
  return { status, headers, body: stdout.subarray(end + separator) };
}

export class FastCgiClient {
  readonly socket: Socket;
  readonly closed: Promise<void>;
  readonly #decoder = new RecordDecoder();
  readonly #received: FastCgiRecord[] = [];
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

  /** Waits until a received record matches; null if the connection closes first. */
  async waitFor(match: (record: FastCgiRecord) => boolean): Promise<FastCgiRecord | null> {
    for (let seen = 0; ;) {
      for (; seen < this.#received.length; seen++) {
        if (match(this.#received[seen]!)) return this.#received[seen]!;
      }
      if (this.#isClosed) return null;
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  async getValuesResult(): Promise<Map<string, string>> {
    const record = await this.waitFor((r) => r.type === FCGI_GET_VALUES_RESULT);
    if (!record) throw new Error('connection closed before FCGI_GET_VALUES_RESULT');
    return new Map(decodeNameValuePairs(record.content));
  }

  /** Collects one request's STDOUT and STDERR until its END_REQUEST. */
  async result(requestId: number): Promise<FastCgiResult> {
    const end = await this.waitFor((r) => r.type === FCGI_END_REQUEST && r.requestId === requestId);
    if (!end) throw new Error(`connection closed before FCGI_END_REQUEST for request ${requestId}`);
    const records = this.#received.filter((r) => r.requestId === requestId && r.type !== FCGI_END_REQUEST);
    return {
      stdout: Buffer.concat(records.filter((r) => r.type === FCGI_STDOUT).map((r) => r.content)),
      stderr: Buffer.concat(records.filter((r) => r.type === FCGI_STDERR).map((r) => r.content)).toString('utf8'),
      ...decodeEndRequestBody(end.content),
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
