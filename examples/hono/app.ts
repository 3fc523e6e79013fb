/**
 * A Hono app, written as if it always lived at the root: its routes, its
 * redirect and its cookie path say "/". Served by any of the five images at
 * any mount with HIDE_MOUNT=true (README, "Bring your own app"): the gateway
 * gives it URLs without the mount and puts the mount back into its Location
 * and cookie Path (gateway/middleware/hide-mount.ts).
 *   cd examples/hono && npm install      (the images never run npm)
 *   docker run --rm -p 127.0.0.1:8090:8080 -v "$PWD:/srv/app:ro" \
 *     -e APP_MODULE=/srv/app/app.ts -e APP_HIDE_MOUNT=true -e APP_MOUNT=/blog \
 *     yourapplication/nginx-fcgi
 *   curl http://127.0.0.1:8090/blog/hello
 * The images' health check asks for <mount>/hello: an app served by them
 * needs that route (any 200 answer).
 */
import { Hono } from 'hono';
import { setCookie } from 'hono/cookie';

const app = new Hono();

app.get('/', (c) => c.text('A Hono app. Try /hello, /where, /go, /login.\n'));
app.get('/hello', (c) => c.text('Hello from Hono!\n'));
// What the app sees: its own path and URL (no mount), as a Fetch router needs them.
app.get('/where', (c) => c.json({ path: c.req.path, url: c.req.url }));
app.get('/go', (c) => c.redirect('/hello'));
app.get('/login', (c) => {
  setCookie(c, 'session', 'hono-1', { path: '/', httpOnly: true });
  return c.text('logged in\n');
});

export default app;
