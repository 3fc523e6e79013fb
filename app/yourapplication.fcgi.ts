#!/usr/bin/env -S MALLOC_ARENA_MAX=2 chrt --other 0 node --max-semi-space-size=8
// --max-semi-space-size=8 (MB): Node 24's V8 lets the young generation grow to
// 64 MB semi-spaces under a high allocation rate, which a FastCGI process
// reached with one connection per request (lighttpd): RSS 104 -> 213 MB in
// the memory soak, never given back, while live data stayed near 15 MB.
// Capped at 8 MB the throughput measured the same (docs/performance.md).
// MALLOC_ARENA_MAX=2: glibc gives threads malloc arenas of their own (up to
// 8 per core) and keeps each one's freed memory; Node runs a dozen threads
// (V8's platform workers, libuv's pool). Two arenas: ~6 MB less RSS per
// process under load, the same throughput (docs/performance.md).
// Both are on the pre-fork server's command line too (configs/supervisor/nginx-prefork.conf).
// chrt --other 0: the app runs under Linux's default policy (SCHED_OTHER) whatever
// its parent runs. In apache-fcgid the parent is Apache, whose 600 worker threads
// run SCHED_BATCH (images/Dockerfile, stage apache-fcgid, says why): a child
// inherits its parent's policy, and the app must keep the default one.
// yourapplication.fcgi: the seeds' `WSGIServer(app).run()`. Started by mod_fcgid, lighttpd
// (bin-path) or supervisord (fcgi-program) with a listening socket on fd 0, it serves FastCGI;
// started by a web server as a plain CGI script, it serves that one request, as flup does.
import { enableCompileCache } from 'node:module';

enableCompileCache();
const { runFastCgiOrCgi } = await import('../gateway/fastcgi/server.ts');
const { deployedApp } = await import('./deployed-app.ts');
let app = await deployedApp();
// mod_fcgid's pool warm-up holds a process busy through the gateway, not through
// the app's routes (images/common/fcgid-prespawn.sh); only that image asks for it.
if (process.env.APP_MODE === 'apache-fcgid') app = (await import('../gateway/middleware/spawn-hold.ts')).holdForSpawn(app);
await runFastCgiOrCgi(app, { appTimeoutMs: Number(process.env.APP_TIMEOUT_MS) || undefined });
