/**
 * The lazy Request and Response list the members they delegate
 * (gateway/delegate-members.ts) instead of reading them off undici's
 * prototypes, which would load undici. These lists must be exactly this
 * Node's: a member a newer Node adds fails here rather than going missing.
 */
import { describe, expect, it } from 'vitest';
import { REQUEST_MEMBERS, RESPONSE_MEMBERS, type FetchMembers } from '../../gateway/delegate-members.ts';
import { requestFromEnviron } from '../../gateway/environ.ts';
import { Response as LazyResponse } from '../../gateway/lazy-response.ts';

function membersOf(prototype: object): FetchMembers {
  const getters: string[] = [];
  const methods: string[] = [];
  for (const name of Object.getOwnPropertyNames(prototype)) {
    if (name === 'constructor') continue;
    const descriptor = Object.getOwnPropertyDescriptor(prototype, name)!;
    if (descriptor.get) getters.push(name);
    else if (typeof descriptor.value === 'function') methods.push(name);
  }
  return { getters: getters.sort(), methods: methods.sort() };
}

const sorted = (members: FetchMembers): FetchMembers => ({ getters: [...members.getters].sort(), methods: [...members.methods].sort() });

describe('the members the lazy Fetch objects delegate', () => {
  it('are Request.prototype’s, getters and methods', () => {
    expect(sorted(REQUEST_MEMBERS)).toEqual(membersOf(Request.prototype));
  });

  it('are Response.prototype’s, getters and methods', () => {
    expect(sorted(RESPONSE_MEMBERS)).toEqual(membersOf(Response.prototype));
  });

  it('answer lookups beyond them as a genuine object does', () => {
    const { request } = requestFromEnviron({ REQUEST_METHOD: 'GET', SERVER_NAME: 'x', SERVER_PORT: '80', SERVER_PROTOCOL: 'HTTP/1.1' }, null);
    const response = new LazyResponse('x');
    for (const [lazy, genuine] of [[request, new Request('http://x/')], [response, new Response('x')]] as const) {
      expect(Object.prototype.toString.call(lazy)).toBe(Object.prototype.toString.call(genuine));
      expect((lazy as unknown as { then?: unknown }).then).toBeUndefined();
      expect(lazy.hasOwnProperty).toBe(Object.prototype.hasOwnProperty);
      expect(lazy.toString()).toBe(genuine.toString());
      expect(Object.getPrototypeOf(Object.getPrototypeOf(Object.getPrototypeOf(lazy)))).toBe(Object.getPrototypeOf(genuine));
    }
  });
});
