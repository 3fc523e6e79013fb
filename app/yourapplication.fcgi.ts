#!/usr/bin/env node
// yourapplication.fcgi: the seeds' `WSGIServer(app).run()`. Started by mod_fcgid, lighttpd
// (bin-path) or supervisord (fcgi-program) with a listening socket on fd 0, it serves FastCGI;
// started by a web server as a plain CGI script, it serves that one request, as flup does.
import { enableCompileCache } from 'node:module';

enableCompileCache();
const { runFastCgiOrCgi } = await import('../gateway/fastcgi/server.ts');
const { default: app } = await import('./app.ts');
await runFastCgiOrCgi(app, { appTimeoutMs: Number(process.env.APP_TIMEOUT_MS) || undefined });
