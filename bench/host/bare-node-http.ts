/** The reference: node:http writing the bytes the tiny app's answer has, no Fetch objects at all. */
import { createServer } from 'node:http';

const body = Buffer.from('Hello, World!\n');
const port = Number(process.argv[2] ?? 8901);
createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain;charset=UTF-8', 'content-length': body.byteLength });
  res.end(body);
}).listen(port, '127.0.0.1');
