#!/usr/bin/env node
// yourapplication.cgi: the seeds' `CGIHandler().run(app)`, one process per request.
// The image symlinks yourapplication.cgi to this file; Node follows the link and strips the types.
import { enableCompileCache } from 'node:module';

// Every CGI request starts Node afresh: reuse compiled code (NODE_COMPILE_CACHE, warmed at image build).
enableCompileCache();
const { divertStdoutToStderr, runCgi } = await import('../gateway/cgi.ts');
// Before the app is imported: whatever it prints, even through a process.stdout it keeps, goes to stderr.
divertStdoutToStderr();
const { deployedApp } = await import('./deployed-app.ts');
await runCgi(await deployedApp(), { appTimeoutMs: Number(process.env.APP_TIMEOUT_MS) || undefined });
