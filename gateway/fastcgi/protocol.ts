/**
 * The FastCGI 1.0 wire format (https://fastcgi-archives.github.io/FastCGI_Specification.html):
 * record headers, the record types and constants, name-value pairs, an
 * incremental record decoder and the helpers that cut a byte stream into
 * records. Nothing here knows about requests or sockets.
 */

import { isAscii } from 'node:buffer';

export const FCGI_VERSION_1 = 1;
export const FCGI_HEADER_LEN = 8;
/** The content length field is 16 bits wide. */
export const FCGI_MAX_CONTENT_LENGTH = 65535;

/** Record types (spec section 8). */
export const FCGI_BEGIN_REQUEST = 1;
export const FCGI_ABORT_REQUEST = 2;
export const FCGI_END_REQUEST = 3;
export const FCGI_PARAMS = 4;
export const FCGI_STDIN = 5;
export const FCGI_STDOUT = 6;
export const FCGI_STDERR = 7;
export const FCGI_DATA = 8;
export const FCGI_GET_VALUES = 9;
export const FCGI_GET_VALUES_RESULT = 10;
export const FCGI_UNKNOWN_TYPE = 11;
export const FCGI_MAXTYPE = FCGI_UNKNOWN_TYPE;

/** A record with this request id is a management record. */
export const FCGI_NULL_REQUEST_ID = 0;

/** FCGI_BeginRequestBody.flags */
export const FCGI_KEEP_CONN = 1;

/** FCGI_BeginRequestBody.role */
export const FCGI_RESPONDER = 1;
export const FCGI_AUTHORIZER = 2;
export const FCGI_FILTER = 3;

/** FCGI_EndRequestBody.protocolStatus */
export const FCGI_REQUEST_COMPLETE = 0;
export const FCGI_CANT_MPX_CONN = 1;
export const FCGI_OVERLOADED = 2;
export const FCGI_UNKNOWN_ROLE = 3;

/** The variables an FCGI_GET_VALUES query may ask for. */
export const FCGI_MAX_CONNS = 'FCGI_MAX_CONNS';
export const FCGI_MAX_REQS = 'FCGI_MAX_REQS';
export const FCGI_MPXS_CONNS = 'FCGI_MPXS_CONNS';

export const RECORD_TYPE_NAMES: Readonly<Record<number, string>> = {
  [FCGI_BEGIN_REQUEST]: 'FCGI_BEGIN_REQUEST',
  [FCGI_ABORT_REQUEST]: 'FCGI_ABORT_REQUEST',
  [FCGI_END_REQUEST]: 'FCGI_END_REQUEST',
  [FCGI_PARAMS]: 'FCGI_PARAMS',
  [FCGI_STDIN]: 'FCGI_STDIN',
  [FCGI_STDOUT]: 'FCGI_STDOUT',
  [FCGI_STDERR]: 'FCGI_STDERR',
  [FCGI_DATA]: 'FCGI_DATA',
  [FCGI_GET_VALUES]: 'FCGI_GET_VALUES',
  [FCGI_GET_VALUES_RESULT]: 'FCGI_GET_VALUES_RESULT',
  [FCGI_UNKNOWN_TYPE]: 'FCGI_UNKNOWN_TYPE',
};

export function recordTypeName(type: number): string {
  return RECORD_TYPE_NAMES[type] ?? `type ${type}`;
}

/** Input that is not FastCGI: the connection it came on cannot be trusted any further. */
export class FastCgiProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FastCgiProtocolError';
  }
}

export interface RecordHeader {
  version: number;
  type: number;
  requestId: number;
  contentLength: number;
  paddingLength: number;
}

export interface FastCgiRecord {
  type: number;
  requestId: number;
  content: Buffer;
}

/** Reads a header; throws FastCgiProtocolError on any version other than 1. */
export function decodeHeader(data: Uint8Array, offset = 0): RecordHeader {
  if (data.byteLength - offset < FCGI_HEADER_LEN) throw new FastCgiProtocolError('truncated record header');
  const version = data[offset]!;
  if (version !== FCGI_VERSION_1) throw new FastCgiProtocolError(`unsupported FastCGI version ${version} (only 1 exists)`);
  return {
    version,
    type: data[offset + 1]!,
    requestId: (data[offset + 2]! << 8) | data[offset + 3]!,
    contentLength: (data[offset + 4]! << 8) | data[offset + 5]!,
    paddingLength: data[offset + 6]!,
  };
}

/** Padding that rounds content up to a multiple of 8, as the spec recommends for alignment. */
export function paddingFor(contentLength: number): number {
  return (8 - (contentLength % 8)) % 8;
}

function checkRequestId(requestId: number): void {
  if (!Number.isInteger(requestId) || requestId < 0 || requestId > 0xffff) throw new RangeError(`invalid request id ${requestId}`);
}

/** Writes one record header into `target` at `offset` (every encoder here goes through this). */
function writeHeader(target: Buffer, offset: number, type: number, requestId: number, contentLength: number, paddingLength: number): void {
  target[offset] = FCGI_VERSION_1;
  target[offset + 1] = type;
  target.writeUInt16BE(requestId, offset + 2);
  target.writeUInt16BE(contentLength, offset + 4);
  target[offset + 6] = paddingLength;
  target[offset + 7] = 0;
}

/** One complete record: header, content (at most 65535 bytes) and zero padding. */
export function encodeRecord(type: number, requestId: number, content: Uint8Array = new Uint8Array(0)): Buffer {
  const length = content.byteLength;
  if (length > FCGI_MAX_CONTENT_LENGTH) {
    throw new RangeError(`record content of ${length} bytes exceeds ${FCGI_MAX_CONTENT_LENGTH}; use encodeStream`);
  }
  checkRequestId(requestId);
  const padding = paddingFor(length);
  const record = Buffer.alloc(FCGI_HEADER_LEN + length + padding);
  writeHeader(record, 0, type, requestId, length, padding);
  record.set(content, FCGI_HEADER_LEN);
  return record;
}

/**
 * A stream payload (STDOUT, STDERR, STDIN, PARAMS) as records of at most 65535
 * content bytes. An empty payload gives no records: the empty record that
 * ends a stream is written on purpose, with encodeRecord(type, id).
 */
export function encodeStream(type: number, requestId: number, payload: Uint8Array): Buffer[] {
  const records: Buffer[] = [];
  for (let offset = 0; offset < payload.byteLength; offset += FCGI_MAX_CONTENT_LENGTH) {
    records.push(encodeRecord(type, requestId, payload.subarray(offset, offset + FCGI_MAX_CONTENT_LENGTH)));
  }
  return records;
}

/**
 * The rest of a response in one buffer, for one socket write: `payload` as
 * STDOUT records, the empty STDOUT record that ends the stream (and an empty
 * STDERR one if that stream was used), then END_REQUEST. Writing these as
 * separate records cost a write each; here the common small response is one
 * allocation and one syscall.
 */
export function encodeResponseEnd(requestId: number, payload: Uint8Array, appStatus: number, protocolStatus: number, closeStderr: boolean): Buffer {
  checkRequestId(requestId);
  let size = FCGI_HEADER_LEN + (closeStderr ? FCGI_HEADER_LEN : 0) + FCGI_HEADER_LEN + 8;
  for (let offset = 0; offset < payload.byteLength; offset += FCGI_MAX_CONTENT_LENGTH) {
    const length = Math.min(FCGI_MAX_CONTENT_LENGTH, payload.byteLength - offset);
    size += FCGI_HEADER_LEN + length + paddingFor(length);
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  const header = (type: number, length: number, padding: number): void => {
    writeHeader(out, at, type, requestId, length, padding);
    at += FCGI_HEADER_LEN;
  };
  for (let offset = 0; offset < payload.byteLength; offset += FCGI_MAX_CONTENT_LENGTH) {
    const length = Math.min(FCGI_MAX_CONTENT_LENGTH, payload.byteLength - offset);
    const padding = paddingFor(length);
    header(FCGI_STDOUT, length, padding);
    out.set(payload.subarray(offset, offset + length), at);
    at += length;
    out.fill(0, at, at + padding);
    at += padding;
  }
  header(FCGI_STDOUT, 0, 0);
  if (closeStderr) header(FCGI_STDERR, 0, 0);
  header(FCGI_END_REQUEST, 8, 0);
  out.set(encodeEndRequestBody(appStatus, protocolStatus), at);
  return out;
}

export function encodeBeginRequestBody(role: number, flags: number): Buffer {
  const body = Buffer.alloc(8);
  body.writeUInt16BE(role, 0);
  body[2] = flags;
  return body;
}

export function decodeBeginRequestBody(content: Uint8Array): { role: number; flags: number } {
  if (content.byteLength !== 8) throw new FastCgiProtocolError(`FCGI_BEGIN_REQUEST body is ${content.byteLength} bytes, not 8`);
  return { role: (content[0]! << 8) | content[1]!, flags: content[2]! };
}

export function encodeEndRequestBody(appStatus: number, protocolStatus: number): Buffer {
  const body = Buffer.alloc(8);
  body.writeUInt32BE(appStatus >>> 0, 0);
  body[4] = protocolStatus;
  return body;
}

export function decodeEndRequestBody(content: Uint8Array): { appStatus: number; protocolStatus: number } {
  if (content.byteLength !== 8) throw new FastCgiProtocolError(`FCGI_END_REQUEST body is ${content.byteLength} bytes, not 8`);
  return { appStatus: Buffer.from(content.buffer, content.byteOffset, 8).readUInt32BE(0), protocolStatus: content[4]! };
}

export function encodeUnknownTypeBody(type: number): Buffer {
  const body = Buffer.alloc(8);
  body[0] = type;
  return body;
}

export type NameValuePairs = Array<[name: string, value: string]>;

/** Lengths below 128 take one byte; longer ones four, with the high bit set. */
function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  if (length > 0x7fffffff) throw new RangeError(`name or value of ${length} bytes is too long for FastCGI`);
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE((length | 0x80000000) >>> 0, 0);
  return bytes;
}

/** Name-value pairs (spec section 3.4); strings are sent as UTF-8. */
export function encodeNameValuePairs(pairs: Iterable<readonly [string, string]>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of pairs) {
    const nameBytes = Buffer.from(name, 'utf8');
    const valueBytes = Buffer.from(value, 'utf8');
    parts.push(encodeLength(nameBytes.byteLength), encodeLength(valueBytes.byteLength), nameBytes, valueBytes);
  }
  return Buffer.concat(parts);
}

/** A pair's length field at `offset`: one byte below 0x80, else four with the high bit set (spec 3.4). */
function lengthAt(bytes: Buffer, offset: number, end: number): number {
  if (offset >= end) throw new FastCgiProtocolError('name-value pair truncated in its length');
  const first = bytes[offset]!;
  if (first < 0x80) return first;
  if (offset + 4 > end) throw new FastCgiProtocolError('name-value pair truncated in its 4-byte length');
  return bytes.readUInt32BE(offset) & 0x7fffffff;
}

/** How many bytes the length field at `offset` takes (read by lengthAt first, so it is there). */
function lengthSize(bytes: Buffer, offset: number): number {
  return bytes[offset]! < 0x80 ? 1 : 4;
}

/**
 * Calls `onPair` for each name-value pair, in order, duplicates included
 * (nginx sends a name twice when a config sets it twice; callers decide who
 * wins). Bytes are read as UTF-8, as Node reads a CGI process's environment,
 * except a request header's value: that is octets (RFC 9110 5.5: obs-text is
 * opaque), one character per byte, Fetch's ByteString, as the HTTP transport
 * gives it. The whole block becomes one Latin-1 string first and each name
 * and value a slice of it (the same as UTF-8 while the block is ASCII, the
 * usual case): a Buffer.toString per name and value, 50 native calls for
 * nginx's params, were a tenth of a FastCGI request's CPU (docs/performance.md).
 */
export function forEachNameValuePair(data: Uint8Array, onPair: (name: string, value: string) => void): void {
  const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const end = bytes.byteLength;
  const text = bytes.toString('latin1');
  const ascii = isAscii(bytes);
  let offset = 0;
  while (offset < end) {
    const nameLength = lengthAt(bytes, offset, end);
    offset += lengthSize(bytes, offset);
    const valueLength = lengthAt(bytes, offset, end);
    offset += lengthSize(bytes, offset);
    if (offset + nameLength + valueLength > end) {
      throw new FastCgiProtocolError(`name-value pair claims ${nameLength}+${valueLength} bytes, only ${end - offset} left`);
    }
    const name = ascii ? text.slice(offset, offset + nameLength) : bytes.toString('utf8', offset, offset + nameLength);
    offset += nameLength;
    const value = ascii || name.startsWith('HTTP_')
      ? text.slice(offset, offset + valueLength)
      : bytes.toString('utf8', offset, offset + valueLength);
    offset += valueLength;
    onPair(name, value);
  }
}

/** The pairs as a list (see forEachNameValuePair for how bytes are read). */
export function decodeNameValuePairs(data: Uint8Array): NameValuePairs {
  const pairs: NameValuePairs = [];
  forEachNameValuePair(data, (name, value) => pairs.push([name, value]));
  return pairs;
}

/**
 * Turns a byte stream cut at arbitrary points into whole records. Partial
 * input is kept as a list of chunks and joined only once a whole record is
 * there, so a peer that trickles one byte at a time costs linear work.
 * After it has thrown, the stream is out of sync for good and it keeps throwing.
 */
export class RecordDecoder {
  #chunks: Buffer[] = [];
  #buffered = 0;
  /** Bytes needed before another record can possibly be complete. */
  #needed = FCGI_HEADER_LEN;
  #failure: FastCgiProtocolError | null = null;

  /** Bytes held that do not yet form a whole record. */
  get pendingBytes(): number {
    return this.#buffered;
  }

  push(chunk: Uint8Array): FastCgiRecord[] {
    if (this.#failure) throw this.#failure;
    if (chunk.byteLength === 0) return [];
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.#chunks.push(buffer);
    this.#buffered += buffer.byteLength;
    if (this.#buffered < this.#needed) return [];

    const data = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#buffered);
    const records: FastCgiRecord[] = [];
    let offset = 0;
    this.#needed = FCGI_HEADER_LEN;
    try {
      while (data.byteLength - offset >= FCGI_HEADER_LEN) {
        const header = decodeHeader(data, offset);
        const total = FCGI_HEADER_LEN + header.contentLength + header.paddingLength;
        if (data.byteLength - offset < total) {
          this.#needed = total;
          break;
        }
        const start = offset + FCGI_HEADER_LEN;
        records.push({ type: header.type, requestId: header.requestId, content: data.subarray(start, start + header.contentLength) });
        offset += total;
      }
    } catch (error) {
      this.#failure = error as FastCgiProtocolError;
      this.#chunks = [];
      this.#buffered = 0;
      throw error;
    }
    const rest = data.subarray(offset);
    this.#chunks = rest.byteLength > 0 ? [rest] : [];
    this.#buffered = rest.byteLength;
    return records;
  }
}
