/** Starts the transport the command line asked for. */
import { runCgi } from '../cgi.ts';
import { runFastCgiOrCgi, serveFastCgi } from '../fastcgi/server.ts';
import { closeGracefully, serveHttp } from '../http/server.ts';
import { runPrefork } from '../http/prefork.ts';
import { loadApp } from '../load-app.ts';
import { withOptions } from '../middleware/options.ts';
import { stopOnSignals } from '../stop-on-signals.ts';
import type { HandleOptions } from '../handler.ts';
import type { TsgiApp } from '../types.ts';
import type { CliOptions } from './options.ts';

const DEFAULT_HTTP_BIND = { kind: 'tcp', host: '127.0.0.1', port: 8000 } as const;

function handleOptions(options: CliOptions): HandleOptions {
  return {
    ...(options.bodyLimit !== undefined && { bodyLimit: options.bodyLimit }),
    ...(options.timeout !== undefined && { appTimeoutMs: options.timeout * 1000 }),
  };
}

async function app(options: CliOptions): Promise<TsgiApp> {
  return withOptions(await loadApp(options.appModule), options);
}

export async function serve(options: CliOptions, cores: number): Promise<void> {
  switch (options.transport) {
    case 'cgi':
      await runCgi(await app(options), handleOptions(options));
      return;
    case 'fastcgi': {
      const fastcgi = {
        ...handleOptions(options),
        ...(options.socketMode !== undefined && { socketMode: options.socketMode }),
        ...(options.maxConns !== undefined && { maxConns: options.maxConns }),
        ...(options.maxReqs !== undefined && { maxReqs: options.maxReqs }),
      };
      if (!options.bind) {
        await runFastCgiOrCgi(await app(options), fastcgi);
        return;
      }
      const server = await serveFastCgi(await app(options), options.bind, fastcgi);
      process.stderr.write(`tsgi: FastCGI on ${JSON.stringify(server.address())} (pid ${process.pid})\n`);
      stopOnSignals(() => server.close());
      return;
    }
    case 'http': {
      const bind = options.bind ?? DEFAULT_HTTP_BIND;
      const workers = options.workers ?? cores;
      if (workers === 0) {
        const server = await serveHttp(await app(options), bind, handleOptions(options));
        process.stderr.write(`tsgi: HTTP on ${JSON.stringify(server.address())} (pid ${process.pid})\n`);
        stopOnSignals(() => closeGracefully(server, 1_000));
        return;
      }
      process.exitCode = await runPrefork({
        appModule: options.appModule,
        bind,
        workers,
        ...handleOptions(options),
        ...(options.maxRequests !== undefined && { maxRequests: options.maxRequests }),
        ...(options.maxRequestsJitter !== undefined && { maxRequestsJitter: options.maxRequestsJitter }),
        ...(options.timeout !== undefined && { timeout: options.timeout }),
        ...(options.gracefulTimeout !== undefined && { gracefulTimeout: options.gracefulTimeout }),
        ...(options.trustProxy !== undefined && { trustProxy: options.trustProxy }),
        ...(options.hideMount !== undefined && { hideMount: options.hideMount }),
        ...(options.socketMode !== undefined && { socketMode: options.socketMode }),
      });
    }
  }
}
