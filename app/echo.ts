/**
 * GET|POST|... /echo[/<rest>]: the request as the app received it. Only fields
 * that must be equal in every deployment mode are included, so the
 * integration tests can compare the five servers byte for byte.
 */
import type { TsgiContext } from '../gateway/types.ts';
import { jsonResponse } from './json.ts';

/**
 * Left out of the echo because they describe one hop, not the request:
 * framing (Apache hands a chunked upload to CGI without a length, nginx and
 * lighttpd buffer it and send one: the body's length and digest below are what
 * count), and the forwarding headers a reverse proxy adds, whose meaning the
 * proxy-fix middleware has already applied to url, scheme and remoteAddr.
 */
/**
 * node:crypto is loaded on the first echo, not with the app: every CGI request
 * loads the app in a fresh Node, and importing node:crypto costs ~13 ms there.
 */
function sha256(bytes: Uint8Array): string {
  return process.getBuiltinModule('node:crypto').createHash('sha256').update(bytes).digest('hex');
}

const HOP_HEADERS = new Set([
  'connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-connection', 'content-length',
  'forwarded', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'x-forwarded-prefix',
  'x-real-ip',
]);

function rawTarget(request: Request, ctx: TsgiContext): { rawPath: string; query: string } {
  const target = ctx.environ.REQUEST_URI ?? '';
  if (target) {
    const mark = target.indexOf('?');
    return mark === -1 ? { rawPath: target, query: '' } : { rawPath: target.slice(0, mark), query: target.slice(mark + 1) };
  }
  const url = new URL(request.url);
  return { rawPath: url.pathname, query: url.search.slice(1) };
}

function decodedArgs(query: string): Record<string, string[]> {
  const args: Record<string, string[]> = {};
  for (const [key, value] of new URLSearchParams(query)) (args[key] ??= []).push(value);
  return args;
}

export async function echo(request: Request, ctx: TsgiContext): Promise<Response> {
  const body = request.body ? new Uint8Array(await request.arrayBuffer()) : new Uint8Array();
  const { rawPath, query } = rawTarget(request, ctx);
  const headers: Record<string, string> = {};
  for (const [name, value] of request.headers) if (!HOP_HEADERS.has(name)) headers[name] = value;
  return jsonResponse({
    method: request.method,
    scriptName: ctx.scriptName,
    pathInfo: ctx.pathInfo,
    rawPath,
    query,
    args: decodedArgs(query),
    headers,
    body: { length: body.byteLength, sha256: sha256(body) },
    url: request.url,
    scheme: new URL(request.url).protocol.slice(0, -1),
    remoteAddr: ctx.remoteAddr,
  });
}
