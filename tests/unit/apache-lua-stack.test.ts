/**
 * mod_lua never pops a hook's return value, so with `LuaScope thread` each
 * worker thread's Lua stack grows with every request; at Lua's limit of
 * 1,000,000 slots every request fails (measured: apache-fcgid's two children
 * ran into it after ~1,000,000 requests, ~2 slots per request). Both Apache
 * modes therefore retire their processes first (MaxConnectionsPerChild; see
 * configs/apache/yourapplication.conf). This checks, from the files the
 * images use, that the bound holds for each mode's MPM, so that losing or
 * raising a setting fails here rather than after a million requests.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';

const LUA_STACK_LIMIT = 1_000_000;
/** A /hello leaks ~2 slots; a request with an error document runs the hook twice: room for 4. */
const SLOTS_PER_REQUEST = 4;

const read = (name: string): string => readFileSync(new URL(`../../configs/apache/${name}`, import.meta.url), 'utf8');
/** Directives outside comments, as [name, value] in file order. */
function directives(text: string): Array<[string, string]> {
  return text.split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => { const [name = '', ...rest] = line.split(/\s+/); return [name, rest.join(' ')] as [string, string]; });
}
/** The directives inside `<IfModule module>` ... `</IfModule>`. */
function block(text: string, module: string): Array<[string, string]> {
  const match = new RegExp(`<IfModule ${module}>([\\s\\S]*?)</IfModule>`).exec(text);
  expect(match, `<IfModule ${module}> block`).not.toBeNull();
  return directives(match![1]!);
}
const last = (list: Array<[string, string]>, name: string): string | undefined => list.filter(([n]) => n === name).at(-1)?.[1];

const shared = directives(read('yourapplication.conf'));

describe('Apache: no process lives long enough for mod_lua to overflow its Lua stack', () => {
  test('the request policy runs with a kept Lua state (the case this guards)', () => {
    expect(last(shared, 'LuaScope')).toBe('thread');
  });

  test.each([
    // apache-fcgid: prefork, no keep-alive: a connection is a request.
    { mode: 'apache-fcgid', file: 'fcgid.conf', mpm: 'mpm_prefork_module' },
    // apache-cgi: event MPM, keep-alive: a connection is up to MaxKeepAliveRequests requests.
    { mode: 'apache-cgi', file: 'cgi.conf', mpm: 'mpm_event_module' },
  ])('$mode retires its processes before ($mpm in $file)', ({ file, mpm }) => {
    const own = directives(read(file));
    const connections = Number(last(block(read(file), mpm), 'MaxConnectionsPerChild'));
    // 0 (or missing) would mean "never".
    expect(connections).toBeGreaterThan(0);
    const keepAlive = (last(own, 'KeepAlive') ?? last(shared, 'KeepAlive') ?? 'On').toLowerCase() === 'on';
    const perConnection = keepAlive ? Number(last(own, 'MaxKeepAliveRequests') ?? last(shared, 'MaxKeepAliveRequests')) : 1;
    expect(perConnection).toBeGreaterThan(0);
    // Even if every request of the process ran on one thread.
    expect(connections * perConnection * SLOTS_PER_REQUEST).toBeLessThan(LUA_STACK_LIMIT);
  });
});
