/**
 * The floor for any Fetch gateway built on node:http that leaves Node's
 * globals alone: bare node:http that also builds (and reads) the undici
 * Response the tiny app returns, then writes the same bytes. What is left
 * between this and such a gateway is the gateway's own cost. (tsgi runs above
 * it: its HTTP transport is not node:http; docs/performance.md, "The floor".)
 */
import { createServer } from 'node:http';
import tinyApp from './tiny-app.ts';

const port = Number(process.argv[2] ?? 8906);
createServer(async (_req, res) => {
  const body = new Uint8Array(await tinyApp().arrayBuffer());
  res.writeHead(200, { 'content-type': 'text/plain;charset=UTF-8', 'content-length': body.byteLength });
  res.end(body);
}).listen(port, '127.0.0.1');
