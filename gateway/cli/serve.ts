/**
 * Starts the transport the command line asked for, with the options the
 * settings table builds for it (../settings.ts): every setting given or
 * defaulted reaches the transport through its row, nothing is spelled here.
 */
import { divertStdoutToStderr, runCgi } from '../cgi.ts';
import { runFastCgiOrCgi, serveFastCgi } from '../fastcgi/server.ts';
import { closeGracefully, serveHttp } from '../http/server.ts';
import { runPrefork } from '../http/prefork.ts';
import { loadApp } from '../load-app.ts';
import { defaultLogger } from '../logger.ts';
import { withOptions, type MiddlewareOptions } from '../middleware/options.ts';
import { optionsFor, resolveSettings, scopeOf } from '../settings.ts';
import { stopOnSignals } from '../stop-on-signals.ts';
import type { TsgiApp } from '../types.ts';
import type { CliOptions } from './options.ts';

async function app(appModule: string, middleware: MiddlewareOptions): Promise<TsgiApp> {
  return withOptions(await loadApp(appModule), middleware);
}

export async function serve(options: CliOptions, cores: number): Promise<void> {
  const { transport, appModule } = options;
  const settings = resolveSettings(options, { transport, cores });
  const logger = defaultLogger();
  switch (scopeOf(transport, settings.workers ?? 0)) {
    case 'cgi': {
      const { trustProxy, hideMount, ...cgi } = optionsFor('cgi', settings);
      divertStdoutToStderr(); // before the app module is loaded (see cgi.ts)
      await runCgi(await app(appModule, { trustProxy, hideMount }), { ...cgi, log: logger });
      return;
    }
    case 'fastcgi': {
      const { trustProxy, hideMount, bind, ...fastcgi } = optionsFor('fastcgi', settings);
      if (!bind) {
        await runFastCgiOrCgi(await app(appModule, { trustProxy, hideMount }), { ...fastcgi, log: logger });
        return;
      }
      const server = await serveFastCgi(await app(appModule, { trustProxy, hideMount }), bind, { ...fastcgi, log: logger });
      logger.write(`tsgi: FastCGI on ${JSON.stringify(server.address())} (pid ${process.pid})`);
      stopOnSignals(() => server.close(), logger);
      return;
    }
    case 'http': {
      const { trustProxy, hideMount, bind, gracefulTimeoutMs, ...http } = optionsFor('http', settings);
      const server = await serveHttp(await app(appModule, { trustProxy, hideMount }), bind!, { ...http, log: logger });
      logger.write(`tsgi: HTTP on ${JSON.stringify(server.address())} (pid ${process.pid})`);
      stopOnSignals(() => closeGracefully(server, { timeoutMs: gracefulTimeoutMs!, logger }), logger);
      return;
    }
    case 'prefork': {
      const { bind, ...prefork } = optionsFor('prefork', settings);
      process.exitCode = await runPrefork({ ...prefork, appModule, bind: bind!, log: (line) => logger.write(line) });
    }
  }
}
