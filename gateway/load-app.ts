/**
 * Loads an app module the way gunicorn loads "module:variable": the default
 * export, or a named one after a colon ("app/app.ts:app"). Failing to load is
 * a boot error with the module named, never a half-started server.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { TsgiApp } from './types.ts';

export class AppLoadError extends Error {
  constructor(spec: string, why: string, options?: ErrorOptions) {
    super(`cannot load the app "${spec}": ${why}`, options);
    this.name = 'AppLoadError';
  }
}

export async function loadApp(spec: string): Promise<TsgiApp> {
  const colon = spec.lastIndexOf(':');
  const [file, exportName] = colon > 1 ? [spec.slice(0, colon), spec.slice(colon + 1)] : [spec, 'default'];
  let module: Record<string, unknown>;
  try {
    module = await import(pathToFileURL(resolve(file)).href);
  } catch (error) {
    throw new AppLoadError(spec, error instanceof Error ? error.message : String(error), { cause: error });
  }
  const app = module[exportName];
  if (typeof app !== 'function') {
    throw new AppLoadError(spec, `its ${exportName === 'default' ? 'default export' : `export "${exportName}"`} is ${typeof app}, not a (request, ctx) => Response function`);
  }
  return app as TsgiApp;
}
