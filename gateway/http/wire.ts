/**
 * HTTP/1.1 request wire format (RFC 9112), the server side only: the request
 * head and the chunked transfer coding. No state beyond one message; the
 * connection's state machine is ./connection.ts (the split of Go's
 * net/http/fcgi: the format in one file, the connection in another).
 *
 * Strict where the RFC lets a server be, because a request that two parsers
 * could read two ways is how requests are smuggled (RFC 9112 section 11.2):
 * no bare CR or LF, no obs-fold, no whitespace before a field's colon, no
 * control bytes in a value, exactly one Content-Length or one
 * `Transfer-Encoding: chunked` and never both, one Host in HTTP/1.1. Each
 * refusal is an HttpParseError with the status to answer; the connection is
 * closed after it, since nothing after a broken message can be trusted.
 */
import { TOKEN } from '../http-token.ts';

/** A request the server refuses before the app sees it; the connection closes after the answer. */
export class HttpParseError extends Error {
  readonly status: 400 | 408 | 417 | 431 | 501 | 505;
  constructor(status: HttpParseError['status'], message: string) {
    super(message);
    this.name = 'HttpParseError';
    this.status = status;
  }
}

/** What the connection needs of a request head; the CGI variables come from it (./environ.ts). */
export interface RequestHead {
  readonly method: string;
  /** The request target as sent (latin1: one char per byte). */
  readonly url: string;
  readonly httpVersion: '1.0' | '1.1';
  /** [name, value, name, value, ...] in the order sent, names as sent, values without surrounding whitespace. */
  readonly rawHeaders: string[];
  /** -1 when there is none. */
  readonly contentLength: number;
  readonly chunked: boolean;
  /** Whether the client wants the connection kept after this exchange (RFC 9112 section 9.3). */
  readonly keepAlive: boolean;
  readonly expectContinue: boolean;
}

/** Field values: HTAB, SP, VCHAR and obs-text (RFC 9110 section 5.5); any other control byte is refused. */
const BAD_VALUE_BYTE = /[\0-\x08\n-\x1f\x7f]/;
/** A request target has no whitespace or control bytes (RFC 9112 section 3.2). */
const BAD_TARGET_BYTE = /[\0-\x20\x7f]/;
const DIGITS = /^[0-9]+$/;
const VERSION = /^HTTP\/([0-9])\.([0-9])$/;

/**
 * Whether a comma-separated header value lists `token` (case-insensitive),
 * as Connection and Expect do. Checked without splitting for the common
 * one-token values.
 */
function listHas(value: string, token: string): boolean {
  const lower = value.toLowerCase();
  if (lower === token) return true;
  if (!lower.includes(',')) return false;
  return lower.split(',').some((item) => item.trim() === token);
}

function trimOws(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && (value.charCodeAt(start) === 0x20 || value.charCodeAt(start) === 0x09)) start++;
  while (end > start && (value.charCodeAt(end - 1) === 0x20 || value.charCodeAt(end - 1) === 0x09)) end--;
  return start === 0 && end === value.length ? value : value.slice(start, end);
}

function parseRequestLine(line: string): { method: string; url: string; httpVersion: '1.0' | '1.1' } {
  const firstSpace = line.indexOf(' ');
  const lastSpace = line.lastIndexOf(' ');
  if (firstSpace <= 0 || lastSpace === firstSpace) throw new HttpParseError(400, 'malformed request line');
  const method = line.slice(0, firstSpace);
  const url = line.slice(firstSpace + 1, lastSpace);
  const version = line.slice(lastSpace + 1);
  if (!TOKEN.test(method)) throw new HttpParseError(400, 'invalid method token');
  if (url === '' || BAD_TARGET_BYTE.test(url)) throw new HttpParseError(400, 'invalid request target');
  const match = VERSION.exec(version);
  if (!match) throw new HttpParseError(400, 'malformed HTTP version');
  // RFC 9110 section 2.5 lets a server answer HTTP/1.2 as 1.1; the project's
  // policy is 505 for it in every mode (lighttpd refuses it before any script
  // runs, docs/http-policy.md), and this parser keeps to the policy.
  if (match[1] !== '1' || (match[2] !== '0' && match[2] !== '1')) throw new HttpParseError(505, `HTTP/${match[1]}.${match[2]} is not supported`);
  return { method, url, httpVersion: match[2] === '0' ? '1.0' : '1.1' };
}

/**
 * One field line, `text` from `start` to `end` (its CRLF excluded): checked,
 * and its name and value (surrounding whitespace trimmed) pushed onto
 * `fields`. The same rules for the head's fields and a chunked body's trailers.
 */
function readFieldLine(text: string, start: number, end: number, fields: string[]): void {
  const first = text.charCodeAt(start);
  if (first === 0x20 || first === 0x09) throw new HttpParseError(400, 'obsolete line folding');
  const colon = text.indexOf(':', start);
  if (colon === -1 || colon > end) throw new HttpParseError(400, 'a field line without a colon');
  const name = text.slice(start, colon);
  if (!TOKEN.test(name)) throw new HttpParseError(400, `invalid field name ${JSON.stringify(name)}`);
  const value = trimOws(text.slice(colon + 1, end));
  if (BAD_VALUE_BYTE.test(value)) throw new HttpParseError(400, `a control byte in the value of ${name}`);
  fields.push(name, value);
}

/**
 * Parses a request head: `head` is the request line and field lines, each
 * ending in CRLF, without the empty line that ends the head (latin1).
 */
export function parseRequestHead(head: string): RequestHead {
  const lineEnd = head.indexOf('\r\n');
  const requestLine = parseRequestLine(lineEnd === -1 ? head : head.slice(0, lineEnd));
  const rawHeaders: string[] = [];
  let contentLength = -1;
  let transferEncoding: string | undefined;
  let connection: string | undefined;
  let expect: string | undefined;
  let hosts = 0;

  let pos = lineEnd === -1 ? head.length : lineEnd + 2;
  while (pos < head.length) {
    let end = head.indexOf('\r\n', pos);
    if (end === -1) end = head.length;
    readFieldLine(head, pos, end, rawHeaders);
    pos = end + 2;
    const name = rawHeaders[rawHeaders.length - 2]!;
    const value = rawHeaders[rawHeaders.length - 1]!;

    // The few fields that frame the message or steer the connection.
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === 'host') {
          // An empty Host is refused, as in every mode (docs/http-policy.md).
          if (value === '') throw new HttpParseError(400, 'an empty Host');
          hosts++;
        }
        break;
      case 6:
        if (name.toLowerCase() === 'expect') expect = value;
        break;
      case 10:
        if (name.toLowerCase() === 'connection') connection = connection === undefined ? value : `${connection}, ${value}`;
        break;
      case 14:
        if (name.toLowerCase() === 'content-length') {
          if (contentLength !== -1) throw new HttpParseError(400, 'more than one Content-Length');
          if (!DIGITS.test(value) || value.length > 15) throw new HttpParseError(400, `invalid Content-Length ${JSON.stringify(value)}`);
          contentLength = Number(value);
        }
        break;
      case 17:
        if (name.toLowerCase() === 'transfer-encoding') {
          if (transferEncoding !== undefined) throw new HttpParseError(400, 'more than one Transfer-Encoding');
          transferEncoding = value;
        }
        break;
    }
  }

  const { httpVersion } = requestLine;
  let chunked = false;
  if (transferEncoding !== undefined) {
    if (httpVersion === '1.0') throw new HttpParseError(400, 'Transfer-Encoding in an HTTP/1.0 request');
    if (contentLength !== -1) throw new HttpParseError(400, 'both Content-Length and Transfer-Encoding');
    if (transferEncoding.toLowerCase() !== 'chunked') throw new HttpParseError(501, `unsupported transfer coding ${JSON.stringify(transferEncoding)}`);
    chunked = true;
  }
  if (hosts > 1) throw new HttpParseError(400, 'more than one Host');
  if (hosts === 0 && httpVersion === '1.1') throw new HttpParseError(400, 'no Host in an HTTP/1.1 request');

  let expectContinue = false;
  if (expect !== undefined) {
    if (expect.toLowerCase() !== '100-continue') throw new HttpParseError(417, `unsupported expectation ${JSON.stringify(expect)}`);
    // An HTTP/1.0 client does not know 100 Continue (RFC 9110 section 10.1.1): it sends the body anyway.
    expectContinue = httpVersion === '1.1';
  }

  const keepAlive = httpVersion === '1.1'
    ? connection === undefined || !listHas(connection, 'close')
    : connection !== undefined && listHas(connection, 'keep-alive') && !listHas(connection, 'close');

  return { ...requestLine, rawHeaders, contentLength, chunked, keepAlive, expectContinue };
}

const CR = 0x0d;
const LF = 0x0a;

/** How many bytes of empty lines (CRLF) start `buffer`: ignored before a request line (RFC 9112 section 2.2). */
export function leadingEmptyLines(buffer: Buffer): number {
  let start = 0;
  while (start + 1 < buffer.length && buffer[start] === CR && buffer[start + 1] === LF) start += 2;
  return start;
}

const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

/**
 * Where a request head ends in `buffer`: the index just past its empty line,
 * or -1 if it has not all arrived. `from` resumes the search in bytes already
 * scanned. While a head is incomplete its new bytes are checked for a bare LF
 * (a line ending another parser might accept): refused at once rather than
 * waited on until the timeout. In a complete head parseRequestHead finds one,
 * since LF is a control byte wherever it can stand.
 */
export function findHeadEnd(buffer: Buffer, from: number): number {
  const end = buffer.indexOf(HEAD_END, Math.max(0, from - 3));
  if (end !== -1) return end + 4;
  for (let lf = buffer.indexOf(LF, from); lf !== -1; lf = buffer.indexOf(LF, lf + 1)) {
    if (lf === 0 || buffer[lf - 1] !== CR) throw new HttpParseError(400, 'a bare LF in the request head');
  }
  return -1;
}

/** The longest chunk-size line (size and extensions) we read; nginx allows far less in practice. */
const MAX_CHUNK_LINE = 4096;
/** A chunk size of more than 15 hex digits would pass 2^53 (and any real body limit). */
const MAX_SIZE_DIGITS = 15;

type ChunkState = 'size' | 'data' | 'data-cr' | 'data-lf' | 'trailer' | 'done';

/**
 * The chunked transfer coding, decoded as bytes arrive (RFC 9112 section
 * 7.1). Chunk extensions are read and ignored; trailer fields are read,
 * checked like header lines and dropped: the app gets the body, never a
 * trailer (docs/http-policy.md).
 */
export class ChunkedDecoder {
  #state: ChunkState = 'size';
  #remaining = 0;
  /** An incomplete size or trailer line carried over from the previous buffer. */
  #line = '';
  #trailerBytes = 0;
  readonly #maxTrailerBytes: number;

  constructor(maxTrailerBytes: number) {
    this.#maxTrailerBytes = maxTrailerBytes;
  }

  get done(): boolean {
    return this.#state === 'done';
  }

  /**
   * Decodes `buffer` from `start`; each piece of body goes to `onData` (a view
   * into `buffer`). Returns the index where the message ended (the rest
   * belongs to the next request), or buffer.length if it has not ended yet.
   */
  decode(buffer: Buffer, start: number, onData: (chunk: Buffer) => void): number {
    let pos = start;
    while (pos < buffer.length && this.#state !== 'done') {
      switch (this.#state) {
        case 'size':
        case 'trailer': {
          const lf = buffer.indexOf(LF, pos);
          const end = lf === -1 ? buffer.length : lf + 1;
          this.#line += buffer.toString('latin1', pos, end);
          if (this.#state === 'trailer') {
            this.#trailerBytes += end - pos;
            if (this.#trailerBytes > this.#maxTrailerBytes) throw new HttpParseError(431, 'trailer fields too large');
          } else if (this.#line.length > MAX_CHUNK_LINE) {
            throw new HttpParseError(400, 'chunk-size line too long');
          }
          pos = end;
          if (lf === -1) break;
          const line = this.#line;
          this.#line = '';
          if (line.length < 2 || line.charCodeAt(line.length - 2) !== CR) throw new HttpParseError(400, 'a chunk line without CRLF');
          const content = line.slice(0, -2);
          if (this.#state === 'size') this.#sizeLine(content);
          else this.#trailerLine(content);
          break;
        }
        case 'data': {
          const take = Math.min(this.#remaining, buffer.length - pos);
          onData(buffer.subarray(pos, pos + take));
          pos += take;
          this.#remaining -= take;
          if (this.#remaining === 0) this.#state = 'data-cr';
          break;
        }
        // The CRLF after a chunk's data, possibly split across buffers.
        case 'data-cr':
          if (buffer[pos] !== CR) throw new HttpParseError(400, 'a chunk without its CRLF');
          pos++;
          this.#state = 'data-lf';
          break;
        case 'data-lf':
          if (buffer[pos] !== LF) throw new HttpParseError(400, 'a chunk without its CRLF');
          pos++;
          this.#state = 'size';
          break;
      }
    }
    return pos;
  }

  #sizeLine(content: string): void {
    // chunk-size [ BWS ";" chunk-ext ]: the size is hex digits only (no sign, no "0x", no spaces inside).
    let end = 0;
    while (end < content.length && isHex(content.charCodeAt(end))) end++;
    if (end === 0) throw new HttpParseError(400, `invalid chunk size ${JSON.stringify(content)}`);
    if (end > MAX_SIZE_DIGITS) throw new HttpParseError(400, 'chunk size too large');
    const rest = content.slice(end);
    if (rest !== '' && !/^[ \t]*;/.test(rest)) throw new HttpParseError(400, `invalid chunk size ${JSON.stringify(content)}`);
    if (BAD_VALUE_BYTE.test(rest)) throw new HttpParseError(400, 'a control byte in a chunk extension');
    const size = Number.parseInt(content.slice(0, end), 16);
    if (size === 0) {
      this.#state = 'trailer';
      return;
    }
    this.#remaining = size;
    this.#state = 'data';
  }

  #trailerLine(content: string): void {
    if (content === '') {
      this.#state = 'done';
      return;
    }
    // Checked like a header field, then dropped.
    readFieldLine(content, 0, content.length, []);
  }
}

function isHex(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x46) || (code >= 0x61 && code <= 0x66);
}
