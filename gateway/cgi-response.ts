/**
 * The CGI response format (RFC 3875 section 6): a "Status:" line, the
 * headers, a blank line, then the body. Both directions live here: cgiHead
 * writes the head (a CGI process's stdout, and FastCGI STDOUT, which carries
 * exactly what a CGI script prints), and parseCgiResponse splits a whole
 * response as a web server would (the FastCGI client and the tests read
 * responses with it).
 */
import { reasonPhrase, type HeaderList } from './handler.ts';

/** Writes the CGI response head: always a Status line, then the headers, then a blank line. */
export function cgiHead(status: number, headers: HeaderList): string {
  let head = `Status: ${status} ${reasonPhrase(status)}\r\n`;
  for (const [name, value] of headers) head += `${name}: ${value}\r\n`;
  return `${head}\r\n`;
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
