/**
 * The lazy Fetch objects (./lazy-request.ts, ./lazy-response.ts) answer a few
 * members themselves and hand every other one to the undici object they build
 * on demand; and they are `instanceof` the global Request or Response without
 * loading undici before something needs it.
 *
 * Why the loading matters: reading globalThis.Request or Response makes Node
 * load all of undici, ~45 ms on the 2-core machine, more than starting Node
 * itself (~35 ms). A CGI request starts Node afresh, so for an app that never
 * needs undici's objects that load was over half of every request.
 *
 * So the members are listed here (tests/unit/fetch-members.test.ts checks the
 * lists against this Node's Request.prototype and Response.prototype, so a
 * member a newer Node adds fails that test instead of going missing), and the
 * prototype behind ours is a Proxy: `instanceof` walks the prototype chain
 * through its getPrototypeOf trap, which reads the global only then.
 */

export interface FetchMembers {
  readonly getters: readonly string[];
  readonly methods: readonly string[];
}

const BODY_METHODS = ['clone', 'blob', 'arrayBuffer', 'text', 'json', 'formData', 'bytes'];

export const REQUEST_MEMBERS: FetchMembers = {
  getters: [
    'method', 'url', 'headers', 'destination', 'referrer', 'referrerPolicy', 'mode', 'credentials', 'cache',
    'redirect', 'integrity', 'keepalive', 'isReloadNavigation', 'isHistoryNavigation', 'signal', 'body', 'bodyUsed',
    'duplex',
  ],
  methods: BODY_METHODS,
};

export const RESPONSE_MEMBERS: FetchMembers = {
  getters: ['type', 'url', 'redirected', 'status', 'ok', 'statusText', 'headers', 'body', 'bodyUsed'],
  methods: BODY_METHODS,
};

/**
 * A prototype that is the global `name`'s prototype to `instanceof` and
 * Object.prototype.toString(), read only when one of them asks. Any other
 * lookup that reaches it is answered as by Object.prototype (the members are
 * all defined on the prototype in front of it).
 */
function deferredPrototype(name: 'Request' | 'Response'): object {
  return new Proxy(Object.create(Object.prototype) as object, {
    getPrototypeOf: () => globalThis[name].prototype,
    get: (_target, key, receiver) => (key === Symbol.toStringTag ? name : Reflect.get(Object.prototype, key, receiver)),
  });
}

/**
 * Defines on `target` every member in `members` it does not define itself, each
 * handed to `full(this)`, and puts the global `name`'s prototype behind it.
 */
export function delegateMembers<T extends object>(
  target: T,
  name: 'Request' | 'Response',
  members: FetchMembers,
  full: (self: T) => object,
): void {
  for (const member of members.getters) {
    if (Object.hasOwn(target, member)) continue;
    Object.defineProperty(target, member, {
      configurable: true,
      enumerable: true,
      get(this: T) {
        return (full(this) as Record<string, unknown>)[member];
      },
    });
  }
  for (const member of members.methods) {
    if (Object.hasOwn(target, member)) continue;
    Object.defineProperty(target, member, {
      configurable: true,
      writable: true,
      enumerable: true,
      value(this: T, ...args: unknown[]) {
        return (full(this) as Record<string, (...a: unknown[]) => unknown>)[member]!(...args);
      },
    });
  }
  Object.setPrototypeOf(target, deferredPrototype(name));
}
