/**
 * Reads an app's Response body in the way that lets the transport write it
 * best. A body made from a string, bytes or JSON (undici: one chunk, then the
 * end one microtask later) comes back whole, so the transport sends head and
 * body in one write with a Content-Length, as node:http itself would. Any
 * other body comes back as a stream whose first chunks were already read; the
 * end is waited for only a few microtasks, so a streamed response is never
 * held back (GET /stream's first line still goes out at once).
 */

/** How many microtasks to wait for the end of the body after its first chunk. */
const END_WITHIN_MICROTASKS = 4;

export type ReadBody =
  | { readonly whole: true; readonly bytes: Uint8Array }
  | {
      readonly whole: false;
      /** Chunks already read, in order. */
      readonly read: Uint8Array[];
      readonly reader: ReadableStreamDefaultReader<Uint8Array>;
      /** A read already asked for and not yet settled: use it before calling reader.read() again. */
      readonly pending: Promise<ReadableStreamReadResult<Uint8Array>> | null;
    };

const EMPTY = new Uint8Array(0);

/** Whether `promise` settles within a few microtasks (it is observed, never left unhandled). */
async function settlesSoon(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(() => { settled = true; }, () => { settled = true; });
  for (let i = 0; i < END_WITHIN_MICROTASKS && !settled; i++) await null;
  return settled;
}

export async function readBody(body: ReadableStream<Uint8Array> | null): Promise<ReadBody> {
  if (!body) return { whole: true, bytes: EMPTY };
  const reader = body.getReader();
  const first = await reader.read();
  if (first.done) return { whole: true, bytes: EMPTY };
  const next = reader.read();
  if (!(await settlesSoon(next))) return { whole: false, read: [first.value], reader, pending: next };
  const second = await next;
  if (second.done) return { whole: true, bytes: first.value };
  return { whole: false, read: [first.value, second.value], reader, pending: null };
}
