/**
 * The lazy Fetch objects (./lazy-request.ts, ./lazy-response.ts) answer a few
 * members themselves and hand every other one to the undici object they build
 * on demand. This defines those hand-offs on `target`, one per member of
 * `source` (Request.prototype or Response.prototype) that `target` lacks, so
 * members a newer Node adds are covered too.
 */
export function delegateMembers<T extends object>(target: T, source: object, full: (self: T) => object): void {
  for (const name of Object.getOwnPropertyNames(source)) {
    if (name === 'constructor' || Object.hasOwn(target, name)) continue;
    const descriptor = Object.getOwnPropertyDescriptor(source, name)!;
    if (descriptor.get) {
      Object.defineProperty(target, name, {
        configurable: true,
        enumerable: descriptor.enumerable ?? false,
        get(this: T) {
          return (full(this) as Record<string, unknown>)[name];
        },
      });
    } else if (typeof descriptor.value === 'function') {
      Object.defineProperty(target, name, {
        configurable: true,
        writable: true,
        enumerable: descriptor.enumerable ?? false,
        value(this: T, ...args: unknown[]) {
          return (full(this) as Record<string, (...a: unknown[]) => unknown>)[name]!(...args);
        },
      });
    }
  }
  // instanceof, and Object.prototype.toString() === '[object Request]' / '[object Response]'.
  Object.setPrototypeOf(target, source);
}
