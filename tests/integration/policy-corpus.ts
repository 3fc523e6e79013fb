/**
 * The HTTP request policy corpus (docs/http-policy.md): unusual and hostile
 * requests, as raw bytes, each with the RFC section that decides it and the
 * answer the policy gives, written by hand from the RFC, never taken from a
 * server. The categories follow the request-smuggling literature (http-garden's
 * map: framing, chunked encoding, field syntax, request line, target forms,
 * Host, methods, versions, upgrades).
 *
 * "{M}" in a request stands for the mount ("" or "/yourapplication"). Every
 * request is sent on a connection the client keeps open; policy.test.ts then
 * sends a probe request on it, so whether the server closed the connection,
 * and whether it read anything from the leftovers as a request of its own, is
 * part of the answer.
 */

/** The server refuses the request itself: its fixed error text, and the connection is closed. */
export interface Refusal {
  status: 400 | 501 | 505;
}

/** The request reaches the app's /echo: what the app must have seen. */
export interface Accepted {
  status: 200;
  method: string;
  /** The raw path and query as /echo reports them, "{M}" for the mount. */
  rawPath: string;
  query?: string;
  /** PATH_INFO below the mount. */
  pathInfo?: string;
  /** The request headers the app sees (lower-case; echo leaves out hop-by-hop ones). */
  headers: Record<string, string>;
  /** The body the app read. */
  body?: string;
  /** HTTP/1.0 without keep-alive: the server closes after answering. Default: kept open. */
  closes?: boolean;
}

export interface PolicyCase {
  name: string;
  /** The RFC section that decides the answer. */
  rfc: string;
  request: string;
  expect: Refusal | Accepted;
}

const H = 'Host: example.test\r\n';
const HOST = { host: 'example.test' };
const post = (headers: string, body: string) => `POST {M}/echo HTTP/1.1\r\n${H}${headers}\r\n${body}`;
const get = (headers: string, target = '{M}/echo', version = 'HTTP/1.1') => `GET ${target} ${version}\r\n${headers}\r\n`;
const echoed = (headers: Record<string, string> = {}, rest: Partial<Accepted> = {}): Accepted =>
  ({ status: 200, method: 'GET', rawPath: '{M}/echo', headers: { ...HOST, ...headers }, ...rest });
const posted = (body: string, headers: Record<string, string> = {}): Accepted =>
  ({ status: 200, method: 'POST', rawPath: '{M}/echo', headers: { ...HOST, ...headers }, body });
const BAD: Refusal = { status: 400 };
const NOT_IMPLEMENTED: Refusal = { status: 501 };
const BAD_VERSION: Refusal = { status: 505 };

export const POLICY_CORPUS: PolicyCase[] = [
  // Message framing: Content-Length (RFC 9112 section 6.3, RFC 9110 section 8.6).
  { name: 'two Content-Length fields that differ', rfc: 'RFC 9112 6.3 (5)', request: post('Content-Length: 3\r\nContent-Length: 4\r\n', 'abcd'), expect: BAD },
  { name: 'two equal Content-Length fields', rfc: 'RFC 9112 6.3 (5); RFC 9110 8.6', request: post('Content-Length: 3\r\nContent-Length: 3\r\n', 'abc'), expect: BAD },
  { name: 'Content-Length as a list "3, 3"', rfc: 'RFC 9110 8.6', request: post('Content-Length: 3, 3\r\n', 'abc'), expect: BAD },
  { name: 'Content-Length with a sign "+3"', rfc: 'RFC 9110 8.6 (1*DIGIT)', request: post('Content-Length: +3\r\n', 'abc'), expect: BAD },
  { name: 'negative Content-Length', rfc: 'RFC 9110 8.6 (1*DIGIT)', request: post('Content-Length: -1\r\n', ''), expect: BAD },
  { name: 'Content-Length in hex "0x3"', rfc: 'RFC 9110 8.6 (1*DIGIT)', request: post('Content-Length: 0x3\r\n', 'abc'), expect: BAD },
  { name: 'Content-Length with inner whitespace "1 2"', rfc: 'RFC 9110 8.6', request: post('Content-Length: 1 2\r\n', 'abcdefghijkl'), expect: BAD },
  { name: 'Content-Length past 2^64', rfc: 'RFC 9110 8.6 (overflow)', request: post('Content-Length: 99999999999999999999999\r\n', ''), expect: BAD },
  { name: 'Content-Length with leading zeros "003" is 3', rfc: 'RFC 9110 8.6 (1*DIGIT)', request: post('Content-Length: 003\r\n', 'abc'), expect: posted('abc') },
  { name: 'GET with a Content-Length body', rfc: 'RFC 9110 9.3.1; RFC 9112 6.3', request: get(`${H}Content-Length: 3\r\n`) + 'abc', expect: BAD },
  { name: 'GET with a chunked body', rfc: 'RFC 9110 9.3.1; RFC 9112 6.3', request: get(`${H}Transfer-Encoding: chunked\r\n`) + '3\r\nabc\r\n0\r\n\r\n', expect: BAD },

  // Transfer-Encoding (RFC 9112 sections 6.1 and 7).
  { name: 'Transfer-Encoding "gzip, chunked" (a coding we do not implement)', rfc: 'RFC 9112 6.1 (501)', request: post('Transfer-Encoding: gzip, chunked\r\n', '3\r\nabc\r\n0\r\n\r\n'), expect: NOT_IMPLEMENTED },
  { name: 'Transfer-Encoding "chunked, chunked" (chunked twice)', rfc: 'RFC 9112 6.1 (chunked at most once)', request: post('Transfer-Encoding: chunked, chunked\r\n', '3\r\nabc\r\n0\r\n\r\n'), expect: NOT_IMPLEMENTED },
  { name: 'Transfer-Encoding "CHUNKED" (coding names are case-insensitive)', rfc: 'RFC 9112 7', request: post('Transfer-Encoding: CHUNKED\r\n', '3\r\nabc\r\n0\r\n\r\n'), expect: posted('abc') },
  { name: 'whitespace between Transfer-Encoding and its colon', rfc: 'RFC 9112 5.1 (MUST 400)', request: post('Transfer-Encoding : chunked\r\n', '3\r\nabc\r\n0\r\n\r\n'), expect: BAD },
  { name: 'Transfer-Encoding in an HTTP/1.0 request', rfc: 'RFC 9112 6.1 (faulty framing)', request: `POST {M}/echo HTTP/1.0\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`, expect: BAD },

  // Chunked coding (RFC 9112 section 7.1).
  { name: 'a chunk extension is ignored', rfc: 'RFC 9112 7.1.1', request: post('Transfer-Encoding: chunked\r\n', '3;a=b\r\nabc\r\n0\r\n\r\n'), expect: posted('abc') },
  { name: 'a trailer field is not part of the content', rfc: 'RFC 9112 7.1.2', request: post('Transfer-Encoding: chunked\r\n', '3\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\n'), expect: posted('abc') },
  { name: 'a Content-Length trailer does not frame the body', rfc: 'RFC 9112 7.1.2; RFC 9110 6.5.1', request: post('Transfer-Encoding: chunked\r\n', '3\r\nabc\r\n0\r\nContent-Length: 9\r\n\r\n'), expect: posted('abc') },
  { name: 'chunked body in 1-byte chunks', rfc: 'RFC 9112 7.1', request: post('Transfer-Encoding: chunked\r\n', '1\r\na\r\n1\r\nb\r\n1\r\nc\r\n0\r\n\r\n'), expect: posted('abc') },
  { name: 'upper-case hex chunk size', rfc: 'RFC 9112 7.1 (HEXDIG)', request: post('Transfer-Encoding: chunked\r\n', 'A\r\n0123456789\r\n0\r\n\r\n'), expect: posted('0123456789') },
  // A malformed chunk: the body cannot be read, so the request is refused, never passed on with what was read.
  { name: 'a chunk size with a non-hex digit (3x)', rfc: 'RFC 9112 7.1 (chunk-size = 1*HEXDIG)', request: post('Transfer-Encoding: chunked\r\n', '3x\r\nabc\r\n0\r\n\r\n'), expect: BAD },
  { name: 'a negative chunk size', rfc: 'RFC 9112 7.1 (chunk-size = 1*HEXDIG)', request: post('Transfer-Encoding: chunked\r\n', '-3\r\nabc\r\n0\r\n\r\n'), expect: BAD },
  { name: 'a chunk size with a 0x prefix', rfc: 'RFC 9112 7.1 (chunk-size = 1*HEXDIG)', request: post('Transfer-Encoding: chunked\r\n', '0x3\r\nabc\r\n0\r\n\r\n'), expect: BAD },
  { name: 'chunk data not followed by its CRLF', rfc: 'RFC 9112 7.1 (chunk = chunk-size ... CRLF chunk-data CRLF)', request: post('Transfer-Encoding: chunked\r\n', '3\r\nabcde\r\n0\r\n\r\n'), expect: BAD },

  // Field syntax (RFC 9112 section 5, RFC 9110 section 5).
  { name: 'obs-fold on the first header line', rfc: 'RFC 9112 5.2; 2.2', request: `GET {M}/echo HTTP/1.1\r\n folded\r\n${H}\r\n`, expect: BAD },
  { name: 'whitespace between a field name and its colon', rfc: 'RFC 9112 5.1 (MUST 400)', request: get(`${H}X-A : 1\r\n`), expect: BAD },
  { name: 'a field with an empty name', rfc: 'RFC 9110 5.1 (token)', request: get(`${H}: x\r\n`), expect: BAD },
  { name: 'a field name with a space', rfc: 'RFC 9110 5.1 (token)', request: get(`${H}X A: 1\r\n`), expect: BAD },
  { name: 'a bare CR in a field value', rfc: 'RFC 9110 5.5 (CR MUST reject)', request: get(`${H}X-A: a\rb\r\n`), expect: BAD },
  { name: 'a NUL in a field value', rfc: 'RFC 9110 5.5 (NUL MUST reject)', request: get(`${H}X-A: a\x00b\r\n`), expect: BAD },
  { name: 'whitespace before the first header line', rfc: 'RFC 9112 2.2 (MUST reject or skip)', request: `GET {M}/echo HTTP/1.1\r\n ${H}\r\n`, expect: BAD },
  { name: 'a tab inside a field value is kept', rfc: 'RFC 9110 5.5 (HTAB in field-content)', request: get(`${H}X-A: a\tb\r\n`), expect: echoed({ 'x-a': 'a\tb' }) },
  { name: 'leading and trailing whitespace around a value is not part of it', rfc: 'RFC 9112 5.1 (OWS)', request: get(`${H}X-A:   a  \t\r\n`), expect: echoed({ 'x-a': 'a' }) },
  { name: 'a field without a space after the colon', rfc: 'RFC 9112 5.1 (OWS)', request: get(`${H}X-A:a\r\n`), expect: echoed({ 'x-a': 'a' }) },
  { name: 'field names are case-insensitive', rfc: 'RFC 9110 5.1', request: get(`${H}x-CASE-test: v\r\n`), expect: echoed({ 'x-case-test': 'v' }) },

  // Field values with bytes over 0x7F (RFC 9110 section 5.5: obs-text, opaque octets):
  // the app sees one character per octet (Fetch's ByteString), in every transport.
  { name: 'a Latin-1 byte in a field value reaches the app as that one character', rfc: 'RFC 9110 5.5 (obs-text)', request: get(`${H}X-A: caf\xe9\r\n`), expect: echoed({ 'x-a': 'caf\u00e9' }) },
  { name: 'UTF-8 in a field value reaches the app as its octets', rfc: 'RFC 9110 5.5 (obs-text)', request: get(`${H}X-A: caf\xc3\xa9\r\n`), expect: echoed({ 'x-a': 'caf\u00c3\u00a9' }) },

  // Repeated fields (RFC 9110 section 5.3; cookies RFC 6265 section 5.4).
  { name: 'a repeated field is combined in order with ", "', rfc: 'RFC 9110 5.3', request: get(`${H}X-A: 1\r\nX-A: 2\r\nX-A: 3\r\n`), expect: echoed({ 'x-a': '1, 2, 3' }) },
  { name: 'a repeated field keeps its order against others', rfc: 'RFC 9110 5.3', request: get(`${H}X-B: 2\r\nX-A: 1\r\nX-B: 1\r\n`), expect: echoed({ 'x-a': '1', 'x-b': '2, 1' }) },
  { name: 'two Cookie fields reach the app as one, joined with "; "', rfc: 'RFC 6265 5.4; RFC 9113 8.2.3', request: get(`${H}Cookie: a=1\r\nCookie: b=2\r\n`), expect: echoed({ cookie: 'a=1; b=2' }) },
  { name: 'a comma between cookies is read as "; "', rfc: 'RFC 6265 4.2.1 (no comma in a cookie-value); RFC 2965 3.3.4', request: get(`${H}Cookie: a=1, b=2\r\n`), expect: echoed({ cookie: 'a=1; b=2' }) },
  { name: 'a single Cookie field passes as sent', rfc: 'RFC 6265 5.4', request: get(`${H}Cookie: a=1; b=2\r\n`), expect: echoed({ cookie: 'a=1; b=2' }) },

  // The request line (RFC 9112 section 3).
  { name: 'two spaces between method and target', rfc: 'RFC 9112 3 (single SP)', request: `GET  {M}/echo HTTP/1.1\r\n${H}\r\n`, expect: BAD },
  { name: 'a space after the version', rfc: 'RFC 9112 3', request: `GET {M}/echo HTTP/1.1 \r\n${H}\r\n`, expect: BAD },
  { name: 'a raw space inside the target', rfc: 'RFC 9112 3.2; RFC 3986 2', request: `GET {M}/echo/a b HTTP/1.1\r\n${H}\r\n`, expect: BAD },
  { name: 'a control character in the target', rfc: 'RFC 9112 3.2; RFC 3986 2', request: `GET {M}/echo\x01 HTTP/1.1\r\n${H}\r\n`, expect: BAD },
  { name: 'a fragment in the target', rfc: 'RFC 9112 3.2 (no fragment in a request-target)', request: get(H, '{M}/echo#frag'), expect: BAD },

  // Request-target forms (RFC 9112 section 3.2).
  { name: 'absolute-form: the app sees the path and query only', rfc: 'RFC 9112 3.2.2 (MUST accept)', request: get(H, 'http://example.test{M}/echo?x=1'), expect: echoed({}, { rawPath: '{M}/echo', query: 'x=1' }) },
  { name: 'absolute-form with dot segments', rfc: 'RFC 9112 3.2.2; RFC 3986 5.2.4', request: get(H, 'http://example.test{M}/a/../echo'), expect: echoed({}, { rawPath: '{M}/a/../echo' }) },
  { name: 'absolute-form with https', rfc: 'RFC 9112 3.2.2', request: get(H, 'https://example.test{M}/echo'), expect: echoed() },
  { name: 'absolute-form with userinfo', rfc: 'RFC 9110 4.2.4 (userinfo forbidden)', request: get(H, 'http://u:p@example.test{M}/echo'), expect: BAD },
  { name: 'absolute-form with a scheme other than http(s)', rfc: 'RFC 9112 3.2.2', request: get(H, 'ftp://example.test{M}/echo'), expect: BAD },
  { name: 'absolute-form with an empty authority', rfc: 'RFC 9110 4.2.1 (empty host MUST be rejected)', request: get(H, 'http:///echo'), expect: BAD },
  { name: 'absolute-form without a path', rfc: 'RFC 9112 3.2.2', request: get(H, 'http://example.test'), expect: BAD },
  { name: 'authority-form with GET', rfc: 'RFC 9112 3.2.3 (CONNECT only)', request: get(H, 'example.test:80'), expect: BAD },
  { name: 'CONNECT with an authority-form target', rfc: 'RFC 9110 9.3.6; RFC 9112 3.2.3', request: `CONNECT example.test:443 HTTP/1.1\r\n${H}\r\n`, expect: BAD },
  { name: 'OPTIONS * (asterisk-form)', rfc: 'RFC 9112 3.2.4 (not served here)', request: `OPTIONS * HTTP/1.1\r\n${H}\r\n`, expect: BAD },
  { name: 'GET * (asterisk-form with another method)', rfc: 'RFC 9112 3.2.4 (OPTIONS only)', request: get(H, '*'), expect: BAD },
  { name: 'a target without a leading slash', rfc: 'RFC 9112 3.2.1', request: get(H, 'echo'), expect: BAD },

  // Methods (RFC 9110 section 9).
  { name: 'an unknown method token', rfc: 'RFC 9110 9.1 (501)', request: `FOO {M}/echo HTTP/1.1\r\n${H}\r\n`, expect: NOT_IMPLEMENTED },
  { name: 'a WebDAV method the stack does not implement', rfc: 'RFC 9110 9.1 (501)', request: `PROPFIND {M}/echo HTTP/1.1\r\n${H}\r\n`, expect: NOT_IMPLEMENTED },
  { name: 'TRACK', rfc: 'RFC 9110 9.1 (501)', request: `TRACK {M}/echo HTTP/1.1\r\n${H}\r\n`, expect: NOT_IMPLEMENTED },
  { name: 'a 100-character method', rfc: 'RFC 9110 9.1 (501)', request: `${'A'.repeat(100)} {M}/echo HTTP/1.1\r\n${H}\r\n`, expect: NOT_IMPLEMENTED },

  // HTTP versions (RFC 9112 section 2.3, RFC 9110 section 6.2).
  { name: 'HTTP/1.0 is answered and the connection closed', rfc: 'RFC 9112 9.3', request: get(H, '{M}/echo', 'HTTP/1.0'), expect: echoed({}, { closes: true }) },
  { name: 'HTTP/1.0 with keep-alive', rfc: 'RFC 9112 C.2.2', request: get(`${H}Connection: keep-alive\r\n`, '{M}/echo', 'HTTP/1.0'), expect: echoed() },
  { name: 'HTTP/1.2', rfc: 'RFC 9110 15.6.6 (505)', request: get(H, '{M}/echo', 'HTTP/1.2'), expect: BAD_VERSION },
  { name: 'HTTP/2.0 in an HTTP/1 request line', rfc: 'RFC 9110 15.6.6 (505)', request: get(H, '{M}/echo', 'HTTP/2.0'), expect: BAD_VERSION },
  { name: 'HTTP/3.0', rfc: 'RFC 9110 15.6.6 (505)', request: get(H, '{M}/echo', 'HTTP/3.0'), expect: BAD_VERSION },
  { name: 'HTTP/9.9', rfc: 'RFC 9110 15.6.6 (505)', request: get(H, '{M}/echo', 'HTTP/9.9'), expect: BAD_VERSION },
  { name: 'HTTP/1.10 (two-digit minor version)', rfc: 'RFC 9112 2.3 (DIGIT "." DIGIT)', request: get(H, '{M}/echo', 'HTTP/1.10'), expect: BAD },
  { name: 'http/1.1 in lower case', rfc: 'RFC 9112 2.3 (case-sensitive)', request: get(H, '{M}/echo', 'http/1.1'), expect: BAD },

  // Host (RFC 9112 section 3.2, RFC 9110 section 7.2).
  { name: 'HTTP/1.1 without Host', rfc: 'RFC 9112 3.2 (MUST 400)', request: get(''), expect: BAD },
  { name: 'two Host fields that differ', rfc: 'RFC 9112 3.2 (MUST 400)', request: get(`${H}Host: other.test\r\n`), expect: BAD },
  { name: 'an empty Host in HTTP/1.1', rfc: 'RFC 9110 7.2; RFC 9112 3.2', request: get('Host:\r\n'), expect: BAD },
  { name: 'Host with a path', rfc: 'RFC 9112 3.2 (invalid field value, MUST 400)', request: get('Host: example.test/x\r\n'), expect: BAD },
  { name: 'Host with userinfo', rfc: 'RFC 9110 4.2.4; RFC 9112 3.2', request: get('Host: u@example.test\r\n'), expect: BAD },
  { name: 'Host with a non-numeric port', rfc: 'RFC 3986 3.2.3; RFC 9112 3.2', request: get('Host: example.test:abc\r\n'), expect: BAD },
  { name: 'Host with a space', rfc: 'RFC 9112 3.2', request: get('Host: exa mple.test\r\n'), expect: BAD },
  { name: 'Host with raw UTF-8', rfc: 'RFC 3986 3.2.2 (reg-name is ASCII)', request: get('Host: \xc3\xa9xample.test\r\n'), expect: BAD },
  { name: 'Host with an underscore', rfc: 'RFC 1123 2.1 (DNS names); docs/http-policy.md', request: get('Host: ex_ample.test\r\n'), expect: BAD },
  { name: 'Host as an IPv6 literal with a port', rfc: 'RFC 3986 3.2.2', request: get('Host: [::1]:8080\r\n'), expect: echoed({ host: '[::1]:8080' }) },

  // Connection management and upgrades (RFC 9110 sections 7.6 and 7.8).
  { name: 'Connection: close closes after the answer', rfc: 'RFC 9112 9.6', request: get(`${H}Connection: close\r\n`), expect: echoed({}, { closes: true }) },
  { name: 'TE: trailers is hop-by-hop', rfc: 'RFC 9110 10.1.4', request: get(`${H}TE: trailers\r\n`), expect: echoed() },
];
