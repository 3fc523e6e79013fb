/** node-fastcgi (a FastCGI server with node:http's API) answering like the tiny app, on a unix socket. */
import { chmodSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const fcgi = require('node-fastcgi') as { createServer(handler: (req: unknown, res: { writeHead(s: number, h: object): void; end(b: string): void }) => void): { listen(path: string, cb: () => void): void } };
const path = process.argv[2]!;
fcgi.createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain;charset=UTF-8' });
  res.end('Hello, World!\n');
}).listen(path, () => chmodSync(path, 0o666));
