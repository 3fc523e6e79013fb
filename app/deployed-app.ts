/**
 * The app an image's entry scripts serve (yourapplication.cgi, .fcgi), from
 * the container's settings, which the entrypoint has checked
 * (images/common/entrypoint.sh):
 *   APP_MODULE      the module to serve (default: app.ts here); another app
 *                   comes in a bind-mounted directory (README, "Bring your own app")
 *   APP_HIDE_MOUNT  "true": the app gets its URL without the mount
 *                   (gateway/middleware/hide-mount.ts), for Fetch routers
 * The pre-fork image passes the same settings to `tsgi http` on its command
 * line (configs/supervisor/nginx-prefork.conf). Middleware is imported only
 * when asked for: a CGI request starts Node afresh every time.
 */
import { loadApp } from '../gateway/load-app.ts';
import type { TsgiApp } from '../gateway/types.ts';

export async function deployedApp(): Promise<TsgiApp> {
  const app = await loadApp(process.env.APP_MODULE || new URL('./app.ts', import.meta.url).href);
  if (process.env.APP_HIDE_MOUNT !== 'true') return app;
  const { hideMount } = await import('../gateway/middleware/hide-mount.ts');
  return hideMount(app);
}
