/**
 * Loads an app module the way gunicorn loads "module:variable": the default
 * export, or a named one after a colon ("app/app.ts:app"). The export is a
 * TSGI app, or a Hono-style object with a fetch(request) method. Failing to
 * load is a boot error naming the module, never a half-started server.
 */
import { fs, path as paths, url } from './builtins.ts';
import type { TsgiApp } from './types.ts';

export class AppLoadError extends Error {
  constructor(spec: string, why: string, options?: ErrorOptions) {
    super(`cannot load the app "${spec}": ${why}`, options);
    this.name = 'AppLoadError';
  }
}

/**
 * A path ("app/app.ts", "./app.ts", "/srv/app.ts") becomes a file URL, resolved
 * against `cwd`; a URL, or a name that is not a file there (a package), is
 * imported as given. Pre-fork workers get the master's resolution.
 */
export function appSpecifier(file: string, cwd: string = process.cwd()): string {
  if (/^[a-z][a-z0-9+.-]+:/i.test(file)) return file;
  const path = paths.resolve(cwd, file);
  // A source file name is a path even when it does not exist, so the error says "file not found".
  const looksLikeFile = /\.(?:[mc]?[jt]s)$/.test(file);
  if (file.startsWith('.') || paths.isAbsolute(file) || looksLikeFile || fs.existsSync(path)) return url.pathToFileURL(path).href;
  return file;
}

/** "app/app.ts:api" -> ["app/app.ts", "api"]; a colon in "file:///..." or "C:" is not an export. */
function splitSpec(spec: string): [file: string, exportName: string] {
  const match = /^(.+?):([A-Za-z_$][\w$]*)$/.exec(spec);
  return match && !/^[a-z][a-z0-9+.-]*$/i.test(match[1]!) ? [match[1]!, match[2]!] : [spec, 'default'];
}

export async function loadApp(spec: string): Promise<TsgiApp> {
  const [file, exportName] = splitSpec(spec);
  let module: Record<string, unknown>;
  try {
    module = await import(appSpecifier(file));
  } catch (error) {
    const why = error instanceof Error ? (error.stack ?? error.message) : String(error);
    throw new AppLoadError(spec, why, { cause: error });
  }
  const exported = module[exportName];
  if (typeof exported === 'function') return exported as TsgiApp;
  if (exported && typeof (exported as { fetch?: unknown }).fetch === 'function') {
    const fetchApp = exported as { fetch: (request: Request) => Response | Promise<Response> };
    return (request) => fetchApp.fetch(request);
  }
  const what = exportName === 'default' ? 'default export' : `export "${exportName}"`;
  throw new AppLoadError(spec, `its ${what} is not an app (a (request, ctx) => Response function, or an object with fetch())`);
}
