/** @hono/node-server serving the same tiny Fetch app, with its defaults (it replaces the global Request/Response). */
import { serve } from '@hono/node-server';
import tinyApp from './tiny-app.ts';

serve({ fetch: tinyApp, port: Number(process.argv[2] ?? 8902), hostname: '127.0.0.1' });
