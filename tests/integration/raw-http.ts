/**
 * A deliberately small HTTP/1.1 client on a raw TCP socket.
 *
 * Why not fetch or node:http: the corpus needs request targets those clients
 * refuse or rewrite ("/a/../echo", "//echo", raw UTF-8 bytes, "%00"), header
 * names with underscores, a Proxy header, and framing under our control
 * (Transfer-Encoding: chunked, no Content-Length). And on the way back we want
 * the framing as the server sent it, to check that a Content-Length that is
 * present is right, instead of trusting it to delimit the body.
 *
 * Every request says "Connection: close", so the body is everything up to EOF
 * and the declared framing can be checked against what actually arrived.
 */
import { connect } from 'node:net';

export type HeaderPairs = Array<[name: string, value: string]>;

export interface RawRequest {
  method: string;
  /** The request target exactly as it goes on the wire (a Buffer for raw non-ASCII bytes). */
  target: string | Buffer;
  /** Sent in this order, names as given. "Connection: close" is added unless present. */
  headers: HeaderPairs;
  /** A body sent with the headers as given (the caller sets Content-Length, or not). */
  body?: Buffer;
  /** A body sent with Transfer-Encoding: chunked, one chunk per element. */
  chunks?: Buffer[];
}

export type Framing = 'none' | 'content-length' | 'chunked' | 'close';

export interface RawResponse {
  status: number;
  reason: string;
  /** Header names lower-cased, in wire order. */
  headers: HeaderPairs;
  /** The de-chunked body (empty for HEAD, 1xx, 204 and 304). */
  body: Buffer;
  framing: Framing;
  /** Framing faults: a wrong Content-Length, a truncated chunked body, bytes after a bodiless answer. */
  problems: string[];
  /** Milliseconds from sending to the first body byte and to EOF (for streaming checks). */
  firstBodyByteMs: number | undefined;
  totalMs: number;
}

export function headerValues(response: { headers: HeaderPairs }, name: string): string[] {
  return response.headers.filter(([n]) => n === name.toLowerCase()).map(([, v]) => v);
}

export function header(response: { headers: HeaderPairs }, name: string): string | undefined {
  const values = headerValues(response, name);
  return values.length === 0 ? undefined : values.join(', ');
}

function serializeHead(request: RawRequest): Buffer {
  const headers: HeaderPairs = [...request.headers];
  if (!headers.some(([n]) => n.toLowerCase() === 'connection')) headers.push(['Connection', 'close']);
  if (request.chunks) headers.push(['Transfer-Encoding', 'chunked']);
  const target = typeof request.target === 'string' ? Buffer.from(request.target, 'latin1') : request.target;
  return Buffer.concat([
    Buffer.from(`${request.method} `, 'latin1'),
    target,
    Buffer.from(` HTTP/1.1\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`, 'latin1'),
  ]);
}

function serializeChunks(chunks: Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const chunk of chunks) {
    if (chunk.length === 0) continue; // a zero-length chunk would end the body early
    parts.push(Buffer.from(`${chunk.length.toString(16)}\r\n`, 'latin1'), chunk, Buffer.from('\r\n', 'latin1'));
  }
  parts.push(Buffer.from('0\r\n\r\n', 'latin1'));
  return Buffer.concat(parts);
}

interface Head {
  status: number;
  reason: string;
  headers: HeaderPairs;
  bodyStart: number;
}

/** Parses one response head at `offset`, or undefined if it isn't complete yet. */
function parseHead(data: Buffer, offset: number): Head | undefined {
  const end = data.indexOf('\r\n\r\n', offset, 'latin1');
  if (end === -1) return undefined;
  const lines = data.subarray(offset, end).toString('latin1').split('\r\n');
  const statusLine = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(lines[0] ?? '');
  if (!statusLine) throw new Error(`not an HTTP/1.x status line: ${JSON.stringify(lines[0])}`);
  const headers: HeaderPairs = [];
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`malformed header line: ${JSON.stringify(line)}`);
    headers.push([line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()]);
  }
  return { status: Number(statusLine[1]), reason: statusLine[2] ?? '', headers, bodyStart: end + 4 };
}

/** De-chunks `data`; reports a missing last chunk or garbage instead of throwing. */
function dechunk(data: Buffer, problems: string[]): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', offset, 'latin1');
    if (lineEnd === -1) {
      problems.push('chunked body ends without the last (zero-length) chunk');
      break;
    }
    const sizeText = data.subarray(offset, lineEnd).toString('latin1').split(';')[0]!.trim();
    if (!/^[0-9a-fA-F]+$/.test(sizeText)) {
      problems.push(`bad chunk size line ${JSON.stringify(sizeText)}`);
      break;
    }
    const size = Number.parseInt(sizeText, 16);
    offset = lineEnd + 2;
    if (size === 0) {
      const trailerEnd = data.indexOf('\r\n\r\n', offset - 2, 'latin1');
      if (trailerEnd === -1) problems.push('chunked body: unterminated trailer section');
      else if (trailerEnd + 4 !== data.length) problems.push(`${data.length - trailerEnd - 4} bytes after the last chunk`);
      break;
    }
    if (offset + size + 2 > data.length) {
      problems.push('chunked body truncated inside a chunk');
      parts.push(data.subarray(offset));
      break;
    }
    parts.push(data.subarray(offset, offset + size));
    offset += size + 2;
  }
  return Buffer.concat(parts);
}

function bodyless(method: string, status: number): boolean {
  return method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200);
}

/** Splits what arrived into the final response (skipping 1xx interim answers) and checks its framing. */
export function parseResponse(method: string, data: Buffer): Omit<RawResponse, 'firstBodyByteMs' | 'totalMs'> {
  let offset = 0;
  let head: Head | undefined;
  for (;;) {
    head = parseHead(data, offset);
    if (!head) throw new Error(`incomplete response head (${data.length} bytes received)`);
    if (head.status >= 200 || head.status === 101) break;
    offset = head.bodyStart; // 100 Continue and friends
  }
  const rest = data.subarray(head.bodyStart);
  const problems: string[] = [];
  const lengths = head.headers.filter(([n]) => n === 'content-length').map(([, v]) => v);
  const chunked = head.headers.some(([n, v]) => n === 'transfer-encoding' && /chunked/i.test(v));
  if (lengths.length > 1) problems.push(`${lengths.length} Content-Length headers: ${lengths.join(' | ')}`);
  if (chunked && lengths.length > 0) problems.push('both Transfer-Encoding: chunked and Content-Length');

  if (bodyless(method, head.status)) {
    if (rest.length > 0) problems.push(`${rest.length} bytes of body after a ${method} ${head.status} answer`);
    return { status: head.status, reason: head.reason, headers: head.headers, body: Buffer.alloc(0), framing: 'none', problems };
  }
  if (chunked) {
    return { status: head.status, reason: head.reason, headers: head.headers, body: dechunk(rest, problems), framing: 'chunked', problems };
  }
  if (lengths.length > 0) {
    const declared = Number(lengths[0]);
    if (declared !== rest.length) problems.push(`Content-Length says ${lengths[0]}, ${rest.length} body bytes arrived`);
    return { status: head.status, reason: head.reason, headers: head.headers, body: rest, framing: 'content-length', problems };
  }
  return { status: head.status, reason: head.reason, headers: head.headers, body: rest, framing: 'close', problems };
}

export interface SendOptions {
  host?: string;
  port: number;
  timeoutMs?: number;
}

/**
 * Sends one request on a fresh connection and reads the answer to EOF.
 * A server may answer early (413) and close while the body is still being
 * written: a write error after an answer has arrived is not a failure.
 */
export function send(request: RawRequest, options: SendOptions): Promise<RawResponse> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const received: Buffer[] = [];
    let receivedBytes = 0;
    let bodyStartSeen: number | undefined;
    let firstBodyByteMs: number | undefined;
    let failure: Error | undefined;
    let settled = false;
    const socket = connect({ host: options.host ?? '127.0.0.1', port: options.port });
    socket.setNoDelay(true);
    const timer = setTimeout(() => {
      failure = new Error(`no complete answer within ${timeoutMs} ms`);
      socket.destroy();
    }, timeoutMs);

    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const data = Buffer.concat(received);
      const totalMs = performance.now() - started;
      try {
        resolve({ ...parseResponse(request.method, data), firstBodyByteMs, totalMs });
      } catch (error) {
        const why = failure ? `${failure.message}; ` : '';
        reject(new Error(`${why}${(error as Error).message}: ${JSON.stringify(data.subarray(0, 300).toString('latin1'))}`));
      }
    };

    socket.on('data', (chunk: Buffer) => {
      received.push(chunk);
      receivedBytes += chunk.length;
      if (firstBodyByteMs === undefined) {
        if (bodyStartSeen === undefined) {
          const all = Buffer.concat(received);
          const end = all.indexOf('\r\n\r\n', 0, 'latin1');
          // Only the final (non-1xx) head counts; good enough for the streaming check.
          if (end !== -1 && !/^HTTP\/1\.[01] 1\d\d/.test(all.toString('latin1', 0, 12))) bodyStartSeen = end + 4;
        }
        if (bodyStartSeen !== undefined && receivedBytes > bodyStartSeen) firstBodyByteMs = performance.now() - started;
      }
    });
    socket.on('error', (error) => {
      if (!failure) failure = error;
      // ECONNRESET / EPIPE after an answer arrived: the server closed on a body it refused.
      finish();
    });
    socket.on('close', finish);
    socket.on('connect', () => {
      socket.write(serializeHead(request));
      if (request.body && request.body.length > 0) socket.write(request.body);
      if (request.chunks) socket.write(serializeChunks(request.chunks));
      // No half-close: some servers treat a FIN from the client as an aborted request.
    });
  });
}

/**
 * Where the first final response in `data` ends, or undefined while it is
 * incomplete or runs to EOF (no Content-Length, not chunked). 1xx answers are
 * skipped. Used to find the bytes a server sends after its answer.
 */
export function responseEnd(method: string, data: Buffer): number | undefined {
  let offset = 0;
  let head: Head | undefined;
  for (;;) {
    head = parseHead(data, offset);
    if (!head) return undefined;
    if (head.status >= 200 || head.status === 101) break;
    offset = head.bodyStart;
  }
  if (bodyless(method, head.status)) return head.bodyStart;
  if (head.headers.some(([n, v]) => n === 'transfer-encoding' && /chunked/i.test(v))) {
    let at = head.bodyStart;
    for (;;) {
      const lineEnd = data.indexOf('\r\n', at, 'latin1');
      if (lineEnd === -1) return undefined;
      const size = Number.parseInt(data.toString('latin1', at, lineEnd).split(';')[0]!.trim(), 16);
      if (!Number.isFinite(size)) return undefined;
      if (size === 0) {
        const trailerEnd = data.indexOf('\r\n\r\n', lineEnd, 'latin1');
        return trailerEnd === -1 ? undefined : trailerEnd + 4;
      }
      at = lineEnd + 2 + size + 2;
      if (at > data.length) return undefined;
    }
  }
  const length = head.headers.find(([n]) => n === 'content-length')?.[1];
  if (length === undefined) return undefined;
  const end = head.bodyStart + Number(length);
  return data.length >= end ? end : undefined;
}

/** What a server did with one raw request on a connection the client keeps open. */
export interface Exchange {
  /** The server's answer to the request. */
  response: RawResponse;
  /**
   * What came after it, once the client sent a probe request on the same
   * connection: 'closed' (EOF or reset, the server dropped the connection),
   * or the raw bytes of whatever arrived before EOF (the probe's answer, or
   * an answer to bytes the server read as a request of their own).
   */
  after: 'closed' | Buffer;
}

/**
 * Sends `bytes` exactly as given (a whole request, malformed on purpose, not
 * necessarily saying Connection: close), reads the server's first answer,
 * then sends `probe` on the same connection and reads to EOF. Whether the
 * probe gets an answer tells whether the server kept the connection; any
 * other answer before it is a request the server found in the leftovers
 * (request smuggling). No timing is involved: EOF decides.
 */
export function exchange(bytes: Buffer, probe: Buffer, options: SendOptions & { method: string }): Promise<Exchange> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const received: Buffer[] = [];
    let end: number | undefined;
    let settled = false;
    const socket = connect({ host: options.host ?? '127.0.0.1', port: options.port });
    socket.setNoDelay(true);
    const timer = setTimeout(() => {
      settled = true;
      socket.destroy();
      const data = Buffer.concat(received);
      reject(new Error(`no ${end === undefined ? 'complete answer' : 'EOF after the probe'} within ${timeoutMs} ms: ${JSON.stringify(data.subarray(0, 300).toString('latin1'))}`));
    }, timeoutMs);
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const data = Buffer.concat(received);
      const cut = end ?? responseEnd(options.method, data) ?? data.length;
      try {
        const response = { ...parseResponse(options.method, data.subarray(0, cut)), firstBodyByteMs: undefined, totalMs: performance.now() - started };
        const rest = data.subarray(cut);
        resolve({ response, after: rest.length === 0 ? 'closed' : rest });
      } catch (error) {
        reject(new Error(`${(error as Error).message}: ${JSON.stringify(data.subarray(0, 300).toString('latin1'))}`));
      }
    };
    socket.on('data', (chunk: Buffer) => {
      received.push(chunk);
      if (end !== undefined) return;
      end = responseEnd(options.method, Buffer.concat(received));
      if (end !== undefined && !socket.destroyed) socket.write(probe, () => {});
    });
    socket.on('error', finish);
    socket.on('close', finish);
    socket.on('connect', () => socket.write(bytes));
  });
}
