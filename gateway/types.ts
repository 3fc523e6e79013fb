/**
 * TSGI, the TypeScript Gateway Interface: the contract between a web server
 * transport (CGI, FastCGI, HTTP) and an application.
 *
 * An application is a Fetch-standard handler. It receives a WHATWG `Request`
 * and a context with the CGI view of the same request, and returns a
 * `Response`. Apps written only against the Fetch API (Hono-style
 * `(req) => Response`) deploy unchanged: the context is an optional extra.
 */

/** The CGI meta-variables (RFC 3875 section 4.1) plus the server's extras. */
export type Environ = Readonly<Record<string, string>>;

export interface TsgiContext {
  /** Where the app is mounted, never ending in "/": "" at the root, "/yourapplication" below it. */
  readonly scriptName: string;
  /** The percent-decoded path below the mount: "" or starting with "/". */
  readonly pathInfo: string;
  /** The raw CGI environment the request was translated from. */
  readonly environ: Environ;
  /** The client's address as the web server saw it (REMOTE_ADDR). */
  readonly remoteAddr: string;
  /** Fires when the client or the web server gives up on the request. */
  readonly signal: AbortSignal;
}

export type TsgiApp = (request: Request, ctx: TsgiContext) => Response | Promise<Response>;
