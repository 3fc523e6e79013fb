import { describe, expect, it } from 'vitest';
import { environFromParams } from '../../gateway/fastcgi/params.ts';
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

  it('encodes and decodes begin and end request bodies as spec sections 5.1 and 5.5 lay them out', () => {
    // FCGI_BeginRequestBody: role (2 bytes, big-endian), flags, 5 reserved bytes.
    expect([...encodeBeginRequestBody(FCGI_RESPONDER, FCGI_KEEP_CONN)]).toEqual([0, 1, 1, 0, 0, 0, 0, 0]);
    expect(decodeBeginRequestBody(Buffer.from([0, 1, 1, 0, 0, 0, 0, 0]))).toEqual({ role: 1, flags: 1 });
    expect(decodeBeginRequestBody(Buffer.from([0, 3, 0, 0, 0, 0, 0, 0]))).toEqual({ role: 3, flags: 0 });
    // FCGI_EndRequestBody: appStatus (4 bytes, big-endian), protocolStatus, 3 reserved bytes.
    expect([...encodeEndRequestBody(0xfffffffe, FCGI_OVERLOADED)]).toEqual([0xff, 0xff, 0xff, 0xfe, 2, 0, 0, 0]);
    expect(decodeEndRequestBody(Buffer.from([0x01, 0x02, 0x03, 0x04, 3, 0, 0, 0]))).toEqual({ appStatus: 0x01020304, protocolStatus: 3 });
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

  it('decodes 1-byte and 4-byte lengths written out by hand', () => {
    const bytes = Buffer.from([
      1, 0x80, 0, 0, 128, 0x42, ...new Array<number>(128).fill(0x79), // B = 128 x "y": 4-byte value length
      0x80, 0, 0, 2, 0, 0x41, 0x42, // AB = "": 4-byte name length (allowed below 128 too), empty value
      1, 2, 0x43, 0xc3, 0xa9, // C = "é" (UTF-8)
    ]);
    expect(decodeNameValuePairs(bytes)).toEqual([['B', 'y'.repeat(128)], ['AB', ''], ['C', 'é']]);
  });

  it('request header values (HTTP_*) decode one character per byte, everything else as UTF-8 (docs/http-policy.md)', () => {
    const bytes = Buffer.from([
      8, 4, ...Buffer.from('HTTP_X_A'), 0x63, 0x61, 0x66, 0xe9, // Latin-1 "café"
      8, 5, ...Buffer.from('HTTP_X_B'), 0x63, 0x61, 0x66, 0xc3, 0xa9, // UTF-8 "café": its two octets
      9, 2, ...Buffer.from('PATH_INFO'), 0xc3, 0xa9, // text: "é"
    ]);
    expect(decodeNameValuePairs(bytes)).toEqual([['HTTP_X_A', 'caf\u00e9'], ['HTTP_X_B', 'caf\u00c3\u00a9'], ['PATH_INFO', '\u00e9']]);
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
  // Written out from the spec (section 3.3): each record is version 1, type, requestId (2 bytes,
  // big-endian), contentLength (2 bytes), paddingLength, a reserved byte, the content, the padding.
  const a = (n: number): number[] => new Array<number>(n).fill(0x61);
  const zeros = (n: number): number[] => new Array<number>(n).fill(0);
  const stream = Buffer.from([
    1, 4, 0, 1, 0, 4, 4, 0, 1, 1, 0x41, 0x62, ...zeros(4), // FCGI_PARAMS, id 1: the pair A=b (lengths 1, 1), 4 padding
    1, 4, 0, 1, 0, 0, 0, 0, // empty FCGI_PARAMS, id 1: end of the params
    1, 6, 0, 2, 0xff, 0xff, 1, 0, ...a(65535), ...zeros(1), // FCGI_STDOUT, id 2: 65535 bytes, 1 padding
    1, 6, 0, 2, 0x11, 0x71, 7, 0, ...a(4465), ...zeros(7), // FCGI_STDOUT, id 2: the other 4465 of 70000, 7 padding
    1, 6, 0x01, 0x2c, 0, 4, 4, 0, 0x74, 0x61, 0x69, 0x6c, ...zeros(4), // FCGI_STDOUT, id 300: "tail", 4 padding
  ]);
  const expected = [
    { type: 4, requestId: 1, content: Buffer.from([1, 1, 0x41, 0x62]) },
    { type: 4, requestId: 1, content: Buffer.alloc(0) },
    { type: 6, requestId: 2, content: Buffer.alloc(65535, 0x61) },
    { type: 6, requestId: 2, content: Buffer.alloc(4465, 0x61) },
    { type: 6, requestId: 300, content: Buffer.from('tail') },
  ];

  it('the encoders write exactly these bytes', () => {
    expect(Buffer.concat([
      encodeRecord(FCGI_PARAMS, 1, encodeNameValuePairs([['A', 'b']])),
      encodeRecord(FCGI_PARAMS, 1),
      ...encodeStream(FCGI_STDOUT, 2, Buffer.alloc(70_000, 0x61)),
      encodeRecord(FCGI_STDOUT, 300, Buffer.from('tail')),
    ]).equals(stream)).toBe(true);
  });

  it('decodes a whole stream in one push', () => {
    const records = new RecordDecoder().push(stream).map((r) => ({ ...r, content: Buffer.from(r.content) }));
    expect(records).toEqual(expected);
  });

  it('skips whatever padding the header declares, not only padding to 8 (spec 3.3: it is optional)', () => {
    const records = new RecordDecoder().push(Buffer.from([
      1, 6, 0, 1, 0, 2, 0, 0, 0x48, 0x69, // FCGI_STDOUT, id 1: "Hi", no padding
      1, 6, 0, 1, 0, 1, 255, 0, 0x21, ...zeros(255), // FCGI_STDOUT, id 1: "!", 255 padding
      1, 3, 0, 1, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // FCGI_END_REQUEST, id 1
    ]));
    expect(records.map((r) => [r.type, r.requestId, r.content.toString('latin1')])).toEqual([
      [6, 1, 'Hi'], [6, 1, '!'], [3, 1, '\0'.repeat(8)],
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
    expect(environFromParams(encodeNameValuePairs([
      ['SCRIPT_NAME', '/yourapplication'], ['SCRIPT_NAME', ''],
      ['HTTP_X_MULTI', 'one'], ['HTTP_X_MULTI', 'two'],
      ['HTTP_COOKIE', 'a=1'], ['HTTP_COOKIE', 'b=2'],
    ]))).toEqual({ SCRIPT_NAME: '', HTTP_X_MULTI: 'one, two', HTTP_COOKIE: 'a=1; b=2' });
  });

  it('reads a non-ASCII block as UTF-8 text, header values as octets (one character per byte)', () => {
    expect(environFromParams(encodeNameValuePairs([['PATH_INFO', '/café'], ['HTTP_X_A', 'café'], ['QUERY_STRING', 'q']]))).toEqual({
      PATH_INFO: '/café',
      HTTP_X_A: 'caf\u00c3\u00a9',
      QUERY_STRING: 'q',
    });
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
