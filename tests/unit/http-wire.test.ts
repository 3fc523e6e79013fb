/**
 * The HTTP/1.1 request wire format (gateway/http/wire.ts): what is read, and
 * which status each malformed head gets. Expectations are written by hand
 * from RFC 9112 / RFC 9110.
 */
import { describe, expect, it } from 'vitest';
import { ChunkedDecoder, findHeadEnd, HttpParseError, parseRequestHead } from '../../gateway/http/wire.ts';

/** The head as parseRequestHead takes it: lines with their CRLF, without the final empty line. */
function head(...lines: string[]): string {
  return lines.map((line) => `${line}\r\n`).join('');
}

function statusOf(action: () => unknown): number | 'ok' {
  try {
    action();
    return 'ok';
  } catch (error) {
    if (error instanceof HttpParseError) return error.status;
    throw error;
  }
}

describe('parseRequestHead', () => {
  it('reads the request line and the fields, values without surrounding whitespace, names as sent', () => {
    const parsed = parseRequestHead(head('POST /a?b=1 HTTP/1.1', 'Host: example.test', 'X-Thing:  two words \t', 'content-length: 5'));
    expect(parsed).toEqual({
      method: 'POST',
      url: '/a?b=1',
      httpVersion: '1.1',
      rawHeaders: ['Host', 'example.test', 'X-Thing', 'two words', 'content-length', '5'],
      contentLength: 5,
      chunked: false,
      keepAlive: true,
      expectContinue: false,
    });
  });

  it('keeps HTTP/1.1 connections unless Connection lists close; HTTP/1.0 only with keep-alive', () => {
    expect(parseRequestHead(head('GET / HTTP/1.1', 'Host: h')).keepAlive).toBe(true);
    expect(parseRequestHead(head('GET / HTTP/1.1', 'Host: h', 'Connection: Close')).keepAlive).toBe(false);
    expect(parseRequestHead(head('GET / HTTP/1.1', 'Host: h', 'Connection: te, close')).keepAlive).toBe(false);
    expect(parseRequestHead(head('GET / HTTP/1.0')).keepAlive).toBe(false);
    expect(parseRequestHead(head('GET / HTTP/1.0', 'Connection: keep-alive')).keepAlive).toBe(true);
  });

  it('reads chunked framing and 100-continue (not for HTTP/1.0, which does not know it)', () => {
    const chunked = parseRequestHead(head('POST / HTTP/1.1', 'Host: h', 'Transfer-Encoding: Chunked', 'Expect: 100-Continue'));
    expect([chunked.chunked, chunked.contentLength, chunked.expectContinue]).toEqual([true, -1, true]);
    expect(parseRequestHead(head('POST / HTTP/1.0', 'Expect: 100-continue', 'Content-Length: 1')).expectContinue).toBe(false);
  });

  it('refuses every version but 1.0 and 1.1 with 505, HTTP/1.2 included (the policy of every mode)', () => {
    expect(statusOf(() => parseRequestHead(head('GET / HTTP/1.2', 'Host: h')))).toBe(505);
    expect(statusOf(() => parseRequestHead(head('GET / HTTP/2.0', 'Host: h')))).toBe(505);
    expect(statusOf(() => parseRequestHead(head('GET / HTTP/0.9')))).toBe(505);
  });

  const refused: Array<[string, string, number]> = [
    ['no Host in HTTP/1.1', head('GET / HTTP/1.1'), 400],
    ['two Host fields', head('GET / HTTP/1.1', 'Host: a', 'Host: a'), 400],
    ['an empty Host', head('GET / HTTP/1.1', 'Host:'), 400],
    ['HTTP/1.10', head('GET / HTTP/1.10', 'Host: h'), 400],
    ['two Host fields in HTTP/1.0', head('GET / HTTP/1.0', 'Host: a', 'Host: b'), 400],
    ['whitespace before the colon', head('GET / HTTP/1.1', 'Host : h'), 400],
    ['obs-fold', head('GET / HTTP/1.1', 'Host: h', 'X-A: one', ' two'), 400],
    ['a field line without a colon', head('GET / HTTP/1.1', 'Host: h', 'X-A'), 400],
    ['an empty field name', head('GET / HTTP/1.1', 'Host: h', ': v'), 400],
    ['a space in a field name', head('GET / HTTP/1.1', 'Host: h', 'X A: v'), 400],
    ['a UTF-8 field name', head('GET / HTTP/1.1', 'Host: h', 'X-\u00c3\u00a9: v'), 400],
    ['a control byte in a value', head('GET / HTTP/1.1', 'Host: h', 'X-A: a\x01b'), 400],
    ['DEL in a value', head('GET / HTTP/1.1', 'Host: h', 'X-A: a\x7fb'), 400],
    ['a bare CR in a value', head('GET / HTTP/1.1', 'Host: h', 'X-A: a\rb'), 400],
    ['a bare LF ending a field line', 'GET / HTTP/1.1\r\nHost: h\nX-A: b\r\n', 400],
    ['two Content-Length fields, even equal', head('POST / HTTP/1.1', 'Host: h', 'Content-Length: 3', 'Content-Length: 3'), 400],
    ['a Content-Length list', head('POST / HTTP/1.1', 'Host: h', 'Content-Length: 3, 3'), 400],
    ['a signed Content-Length', head('POST / HTTP/1.1', 'Host: h', 'Content-Length: +3'), 400],
    ['a hex Content-Length', head('POST / HTTP/1.1', 'Host: h', 'Content-Length: 0x3'), 400],
    ['an empty Content-Length', head('POST / HTTP/1.1', 'Host: h', 'Content-Length:'), 400],
    ['a Content-Length past 2^53', head('POST / HTTP/1.1', 'Host: h', 'Content-Length: 99999999999999999999'), 400],
    ['Content-Length and Transfer-Encoding', head('POST / HTTP/1.1', 'Host: h', 'Content-Length: 3', 'Transfer-Encoding: chunked'), 400],
    ['Transfer-Encoding twice', head('POST / HTTP/1.1', 'Host: h', 'Transfer-Encoding: chunked', 'Transfer-Encoding: chunked'), 400],
    ['Transfer-Encoding in HTTP/1.0', head('POST / HTTP/1.0', 'Transfer-Encoding: chunked'), 400],
    ['an unknown transfer coding', head('POST / HTTP/1.1', 'Host: h', 'Transfer-Encoding: gzip'), 501],
    ['chunked not alone', head('POST / HTTP/1.1', 'Host: h', 'Transfer-Encoding: gzip, chunked'), 501],
    ['an unknown expectation', head('POST / HTTP/1.1', 'Host: h', 'Expect: 200-ok'), 417],
    ['a lower-case version', head('GET / http/1.1', 'Host: h'), 400],
    ['a method with a separator', head('G(T / HTTP/1.1', 'Host: h'), 400],
    ['two spaces after the method', head('GET  / HTTP/1.1', 'Host: h'), 400],
    ['a tab in the target', head('GET /a\tb HTTP/1.1', 'Host: h'), 400],
    ['a request line without a version', head('GET /', 'Host: h'), 400],
  ];
  for (const [what, text, status] of refused) {
    it(`refuses ${what} with ${status}`, () => {
      expect(statusOf(() => parseRequestHead(text))).toBe(status);
    });
  }

  it('accepts obs-text (bytes 0x80-0xff) in values and targets, as latin1 characters', () => {
    const parsed = parseRequestHead(head('GET /caf\u00c3\u00a9 HTTP/1.1', 'Host: h', 'X-A: \u00ff'));
    expect(parsed.url).toBe('/caf\u00c3\u00a9');
    expect(parsed.rawHeaders[3]).toBe('\u00ff');
  });
});

describe('findHeadEnd', () => {
  it('finds the end of the head, also when the search resumes in bytes already scanned', () => {
    const bytes = Buffer.from('GET / HTTP/1.1\r\nHost: h\r\n\r\nBODY');
    expect(findHeadEnd(bytes, 0)).toBe(bytes.length - 4);
    expect(findHeadEnd(bytes.subarray(0, 25), 0)).toBe(-1);
    expect(findHeadEnd(bytes, 25)).toBe(bytes.length - 4);
  });

  it('refuses a bare LF in an incomplete head at once', () => {
    expect(statusOf(() => findHeadEnd(Buffer.from('GET / HTTP/1.1\nHost: h\n'), 0))).toBe(400);
  });
});

function decodeAll(pieces: string[]): { body: string; done: boolean; rest: string } {
  const decoder = new ChunkedDecoder(1024);
  let body = '';
  let rest = '';
  for (const piece of pieces) {
    const buffer = Buffer.from(piece, 'latin1');
    const end = decoder.decode(buffer, 0, (data) => { body += data.toString('latin1'); });
    rest += buffer.toString('latin1', end);
  }
  return { body, done: decoder.done, rest };
}

describe('ChunkedDecoder', () => {
  it('decodes chunks, ignores extensions, drops trailers, and stops at the end of the message', () => {
    expect(decodeAll(['5;name=value\r\nhello\r\n6 ; x\r\n world\r\n0\r\nX-Trailer: t\r\n\r\nGET /next'])).toEqual({
      body: 'hello world',
      done: true,
      rest: 'GET /next',
    });
  });

  it('decodes the same message split at every byte', () => {
    const message = 'a\r\n0123456789\r\n1\r\n!\r\n0\r\n\r\n';
    expect(decodeAll([...message])).toEqual({ body: '0123456789!', done: true, rest: '' });
  });

  it('is not done before the empty line after the last chunk', () => {
    expect(decodeAll(['3\r\nabc\r\n0\r\n']).done).toBe(false);
  });

  const malformed: Array<[string, string, number]> = [
    ['a size with a non-hex character', '3x\r\nabc\r\n0\r\n\r\n', 400],
    ['a negative size', '-3\r\nabc\r\n0\r\n\r\n', 400],
    ['a 0x prefix', '0x3\r\nabc\r\n0\r\n\r\n', 400],
    ['an empty size line', '\r\nabc\r\n0\r\n\r\n', 400],
    ['a size past 15 hex digits', '1000000000000000\r\n', 400],
    ['a chunk without its CRLF', '3\r\nabcX\r\n0\r\n\r\n', 400],
    ['a chunk longer than its size', '3\r\nabcd\r\n0\r\n\r\n', 400],
    ['a size line ending in a bare LF', '3\nabc\r\n0\r\n\r\n', 400],
    ['a control byte in an extension', '3;a=\x01\r\nabc\r\n0\r\n\r\n', 400],
    ['a malformed trailer', '0\r\nno colon\r\n\r\n', 400],
    ['trailers over the limit', `0\r\nX-A: ${'a'.repeat(2000)}\r\n\r\n`, 431],
  ];
  for (const [what, text, status] of malformed) {
    it(`refuses ${what} with ${status}`, () => {
      expect(statusOf(() => decodeAll([text]))).toBe(status);
    });
  }
});
