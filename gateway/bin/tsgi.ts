#!/usr/bin/env node
/**
 * tsgi: serve a TSGI app over CGI, FastCGI or HTTP (pre-fork), like gunicorn.
 *   tsgi http app/app.ts --bind 127.0.0.1:8000 --workers 4
 *   tsgi fastcgi app/app.ts --bind unix:/run/yourapplication/fcgi.sock --socket-mode 660
 *   tsgi fastcgi app/app.ts          (socket inherited on fd 0, or one CGI request)
 *   tsgi cgi app/app.ts              (one request; what yourapplication.cgi does)
 */
import { enableCompileCache } from 'node:module';
import { availableParallelism } from 'node:os';

enableCompileCache();
const { parseArgs, USAGE, UsageError } = await import('../cli/options.ts');
const { serve } = await import('../cli/serve.ts');

try {
  const parsed = parseArgs(process.argv.slice(2));
  if (parsed.help) {
    process.stdout.write(USAGE);
  } else {
    await serve(parsed.options, availableParallelism());
  }
} catch (error) {
  const usage = error instanceof UsageError;
  process.stderr.write(`tsgi: ${(error as Error).message}\n${usage ? 'Try "tsgi --help".\n' : ''}`);
  process.exit(usage ? 2 : 1);
}
