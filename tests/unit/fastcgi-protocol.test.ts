import { environFromParams } from '../../gateway/fastcgi/connection.ts';
import { describe, expect, it } from 'vitest';
import {
  decodeBeginRequestBody,
  decodeEndRequestBody,
  decodeHeader,
  decodeNameValuePairs,
  encodeBeginRequestBody,
  encodeEndRequestBody,
  encodeNameValuePairs,
  encodeRecord,
  encodeStream,
  FastCgiProtocolError,
  FCGI_HEADER_LEN,
  FCGI_KEEP_CONN,
  FCGI_MAX_CONTENT_LENGTH,
  FCGI_OVERLOADED,
  FCGI_PARAMS,
  FCGI_RESPONDER,
  FCGI_STDOUT,
  RecordDecoder,
  encodeResponseEnd,
  FCGI_REQUEST_COMPLETE,
} from '../../gateway/fastcgi/protocol.ts';

describe('record header', () => {
  it('encodes version 1, type, request id, length and padding to a multiple of 8', () => {
    const record = encodeRecord(FCGI_STDOUT, 0x1234, Buffer.from('hello'));
    expect([...record.subarray(0, 8)]).toEqual([1, FCGI_STDOUT, 0x12, 0x34, 0, 5, 3, 0]);
    expect(record.byteLength).toBe(16);
    expect(record.subarray(8, 13).toString()).toBe('hello');
    expect([...record.subarray(13)]).toEqual([0, 0, 0]);
  });

  it('adds no padding when the content is already aligned, and encodes an empty record as a bare header', () => {
    expect(encodeRecord(FCGI_STDOUT, 1, Buffer.alloc(16)).byteLength).toBe(24);
    expect(encodeRecord(FCGI_STDOUT, 1).byteLength).toBe(FCGI_HEADER_LEN);
  });

  it('refuses content over 65535 bytes and a request id over 16 bits', () => {
    expect(() => encodeRecord(FCGI_STDOUT, 1, Buffer.alloc(65536))).toThrow(RangeError);
    expect(() => encodeRecord(FCGI_STDOUT, 65536)).toThrow(RangeError);
  });

  it('rejects any version but 1', () => {
    const record = encodeRecord(FCGI_STDOUT, 1, Buffer.from('x'));
    record[0] = 2;
    expect(() => decodeHeader(record)).toThrow(FastCgiProtocolError);
    expect(() => new RecordDecoder().push(record)).toThrow(/version 2/);
  });

  it('round-trips begin and end request bodies', () => {
    expect(decodeBeginRequestBody(encodeBeginRequestBody(FCGI_RESPONDER, FCGI_KEEP_CONN))).toEqual({ role: 1, flags: 1 });
    expect(decodeEndRequestBody(encodeEndRequestBody(0xfffffffe, FCGI_OVERLOADED))).toEqual({ appStatus: 0xfffffffe, protocolStatus: 2 });
    expect(() => decodeBeginRequestBody(Buffer.alloc(7))).toThrow(FastCgiProtocolError);
  });
});

describe('splitting a payload', () => {
  it('cuts at 65535 bytes, pads every record to 8, and keeps the bytes in order', () => {
    const payload = Buffer.alloc(2 * FCGI_MAX_CONTENT_LENGTH + 10);
    for (let i = 0; i < payload.byteLength; i++) payload[i] = i % 253;
    const records = encodeStream(FCGI_STDOUT, 7, payload);
    expect(records).toHaveLength(3);
    const decoded = new RecordDecoder().push(Buffer.concat(records));
    expect(decoded.map((r) => r.content.byteLength)).toEqual([65535, 65535, 10]);
    for (const record of records) expect(record.byteLength % 8).toBe(0);
    expect(Buffer.concat(decoded.map((r) => r.content)).equals(payload)).toBe(true);
  });

  it('gives no records for an empty payload (the end-of-stream record is explicit)', () => {
    expect(encodeStream(FCGI_STDOUT, 1, Buffer.alloc(0))).toEqual([]);
  });
});

describe('name-value pairs', () => {
  it('uses 1-byte lengths below 128 and 4-byte lengths (high bit set) from 128', () => {
    const short = encodeNameValuePairs([['A', 'x'.repeat(127)]]);
    expect([...short.subarray(0, 2)]).toEqual([1, 127]);
    const long = encodeNameValuePairs([['B', 'y'.repeat(128)]]);
    expect([...long.subarray(0, 5)]).toEqual([1, 0x80, 0, 0, 128]);
    const longName = encodeNameValuePairs([['N'.repeat(70000), '']]);
    expect([...longName.subarray(0, 5)]).toEqual([0x80, 0x01, 0x11, 0x70, 0]);
  });

  it('round-trips in order, keeping duplicates, empty values and UTF-8', () => {
    const pairs: Array<[string, string]> = [
      ['SCRIPT_NAME', '/yourapplication'], ['SCRIPT_NAME', ''], ['EMPTY', ''],
      ['PATH_INFO', '/привет/☃'], ['BIG', 'z'.repeat(300_000)],
    ];
    expect(decodeNameValuePairs(encodeNameValuePairs(pairs))).toEqual(pairs);
  });

  it('throws on a pair that runs past the end, in the length or in the data', () => {
    const encoded = encodeNameValuePairs([['NAME', 'v'.repeat(200)]]);
    expect(() => decodeNameValuePairs(encoded.subarray(0, encoded.byteLength - 1))).toThrow(FastCgiProtocolError);
    expect(() => decodeNameValuePairs(encoded.subarray(0, 3))).toThrow(/4-byte length/);
    expect(() => decodeNameValuePairs(Buffer.from([5]))).toThrow(FastCgiProtocolError);
  });
});

describe('RecordDecoder', () => {
  const stream = Buffer.concat([
    encodeRecord(FCGI_PARAMS, 1, encodeNameValuePairs([['A', 'b']])),
    encodeRecord(FCGI_PARAMS, 1),
    ...encodeStream(FCGI_STDOUT, 2, Buffer.alloc(70_000, 0x61)),
    encodeRecord(FCGI_STDOUT, 300, Buffer.from('tail')),
  ]);
  const expected = new RecordDecoder().push(stream).map((r) => ({ ...r, content: Buffer.from(r.content) }));

  it('decodes a whole stream in one push', () => {
    expect(expected.map((r) => [r.type, r.requestId, r.content.byteLength])).toEqual([
      [FCGI_PARAMS, 1, 4], [FCGI_PARAMS, 1, 0], [FCGI_STDOUT, 2, 65535], [FCGI_STDOUT, 2, 4465], [FCGI_STDOUT, 300, 4],
    ]);
  });

  it('gives the same records whatever the chunk boundaries', () => {
    let seed = 42;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let round = 0; round < 50; round++) {
      const decoder = new RecordDecoder();
      const records = [];
      for (let offset = 0; offset < stream.byteLength;) {
        const size = round === 0 ? 1 : 1 + Math.floor(random() * (round < 25 ? 16 : 100_000));
        records.push(...decoder.push(stream.subarray(offset, offset + size)).map((r) => ({ ...r, content: Buffer.from(r.content) })));
        offset += size;
      }
      expect(records).toEqual(expected);
      expect(decoder.pendingBytes).toBe(0);
    }
  });

  it('keeps throwing once out of sync', () => {
    const decoder = new RecordDecoder();
    expect(() => decoder.push(Buffer.from([9, 1, 0, 1, 0, 0, 0, 0]))).toThrow(FastCgiProtocolError);
    expect(() => decoder.push(encodeRecord(FCGI_STDOUT, 1))).toThrow(FastCgiProtocolError);
  });
});

describe('environFromParams', () => {
  it('joins a repeated request header as HTTP does and lets the last value of anything else win', () => {
    expect(environFromParams([
      ['SCRIPT_NAME', '/yourapplication'], ['SCRIPT_NAME', ''],
      ['HTTP_X_MULTI', 'one'], ['HTTP_X_MULTI', 'two'],
      ['HTTP_COOKIE', 'a=1'], ['HTTP_COOKIE', 'b=2'],
    ])).toEqual({ SCRIPT_NAME: '', HTTP_X_MULTI: 'one, two', HTTP_COOKIE: 'a=1; b=2' });
  });
});

describe('encodeResponseEnd: the end of a response in one buffer', () => {
  it('STDOUT with padding to 8, the empty STDOUT, END_REQUEST (bytes per spec sections 3.3, 5.3, 5.5)', () => {
    const bytes = encodeResponseEnd(1, Buffer.from('Hi'), 0, FCGI_REQUEST_COMPLETE, false);
    expect([...bytes]).toEqual([
      1, 6, 0, 1, 0, 2, 6, 0, 0x48, 0x69, 0, 0, 0, 0, 0, 0, // FCGI_STDOUT, id 1, 2 bytes + 6 padding
      1, 6, 0, 1, 0, 0, 0, 0, // empty FCGI_STDOUT: end of the stream
      1, 3, 0, 1, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // FCGI_END_REQUEST: appStatus 0, FCGI_REQUEST_COMPLETE
    ]);
  });

  it('closes STDERR when it was used, and carries appStatus and protocolStatus', () => {
    const bytes = encodeResponseEnd(0x0102, new Uint8Array(0), 0x01020304, FCGI_OVERLOADED, true);
    expect([...bytes]).toEqual([
      1, 6, 1, 2, 0, 0, 0, 0, // empty FCGI_STDOUT
      1, 7, 1, 2, 0, 0, 0, 0, // empty FCGI_STDERR
      1, 3, 1, 2, 0, 8, 0, 0, 1, 2, 3, 4, 2, 0, 0, 0, // END_REQUEST: appStatus 0x01020304, FCGI_OVERLOADED (2)
    ]);
  });

  it('splits a payload over 65535 bytes into records a peer decoder reads back whole', () => {
    const payload = Buffer.alloc(70_000, 0x61);
    const bytes = encodeResponseEnd(3, payload, 0, FCGI_REQUEST_COMPLETE, false);
    // First record: 65535 bytes, padding 1 (65535 + 1 is a multiple of 8).
    expect([...bytes.subarray(0, 8)]).toEqual([1, 6, 0, 3, 0xff, 0xff, 1, 0]);
    expect([...bytes.subarray(8 + 65535 + 1, 8 + 65535 + 1 + 8)]).toEqual([1, 6, 0, 3, (70_000 - 65535) >> 8, (70_000 - 65535) & 0xff, 7, 0]);
    expect(bytes.byteLength).toBe(8 + 65535 + 1 + 8 + 4465 + 7 + 8 + 16);
  });
});
