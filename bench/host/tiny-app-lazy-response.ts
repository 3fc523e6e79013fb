/**
 * The same tiny Fetch app, with TSGI's Response (gateway/lazy-response.ts)
 * in place of the global one: one import, nothing global replaced. It is
 * what @hono/node-server's default does for the whole process, chosen here by
 * the app's own module.
 */
import { Response } from '../../gateway/lazy-response.ts';

export default function tinyApp(): Response {
  return new Response('Hello, World!\n');
}
