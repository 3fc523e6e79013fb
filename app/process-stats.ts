/**
 * Facts about the process serving this request. They differ between modes by
 * design (a CGI process serves one request, a FastCGI or pre-fork worker many),
 * which is exactly what the workshop wants to show.
 */
let requestsServed = 0;

export function countRequest(): number {
  requestsServed += 1;
  return requestsServed;
}

export function processFacts(environ: Readonly<Record<string, string>>) {
  return {
    mode: process.env.APP_MODE || 'development',
    pid: process.pid,
    requests: requestsServed,
    serverSoftware: environ.SERVER_SOFTWARE ?? '',
  };
}
