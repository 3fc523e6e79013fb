/**
 * FastCGI params (spec section 5.2): the FCGI_PARAMS name-value pairs a web
 * server sends for a request, made into the CGI environment the gateway
 * translates. The wire format of the pairs is in protocol.ts.
 */
import type { Environ } from '../types.ts';
import { forEachNameValuePair } from './protocol.ts';

/**
 * FCGI_PARAMS (the bytes of a request's PARAMS stream) as CGI meta-variables.
 * A name sent twice means two things: a request header the client repeated
 * (nginx 1.22 sends one HTTP_X param per header line, where Apache and
 * lighttpd join them) is joined as HTTP does, with ", " ("; " for cookies);
 * any other variable (nginx sends SCRIPT_NAME twice when a config sets it
 * twice) is set by its last value, as in flup and Go.
 */
export function environFromParams(params: Uint8Array): Environ {
  const environ: Record<string, string> = Object.create(null);
  forEachNameValuePair(params, (name, value) => {
    const previous = environ[name];
    if (previous !== undefined && name.startsWith('HTTP_')) {
      environ[name] = `${previous}${name === 'HTTP_COOKIE' ? '; ' : ', '}${value}`;
    } else {
      environ[name] = value;
    }
  });
  return environ;
}
