/** @hono/node-server with overrideGlobalObjects: false: the app's `new Response` is Node's own, as under tsgi. */
import { serve } from '@hono/node-server';
import tinyApp from './tiny-app.ts';

serve({ fetch: tinyApp, port: Number(process.argv[2] ?? 8904), hostname: '127.0.0.1', overrideGlobalObjects: false });
