#!/usr/bin/env node
// yourapplication.cgi: the seeds' `CGIHandler().run(app)`, one process per request.
// The image symlinks yourapplication.cgi to this file; Node follows the link and strips the types.
import { enableCompileCache } from 'node:module';

// Every CGI request starts Node afresh: reuse compiled code (NODE_COMPILE_CACHE, warmed at image build).
enableCompileCache();
const { runCgi } = await import('../gateway/cgi.ts');
const { deployedApp } = await import('./deployed-app.ts');
await runCgi(await deployedApp(), { appTimeoutMs: Number(process.env.APP_TIMEOUT_MS) || undefined });
