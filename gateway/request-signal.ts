/**
 * The abort signal of one request, made only if somebody asks for it.
 *
 * Most apps never look at ctx.signal or request.signal, yet an
 * AbortController per request, a 'close' listener per response and above all
 * AbortSignal.any (whose dependent signals are tracked through WeakRefs, which
 * only a full mark-compact GC clears) were a large share of the gateway's CPU
 * and of its old-space growth. So the transport reports aborts here, and an
 * AbortSignal exists only once the app (or the gateway's own deadline) reads it;
 * a signal made after the abort starts out aborted.
 */
export class RequestSignal {
  #controller: AbortController | null = null;
  #reason: unknown = undefined;
  #aborted = false;
  #onFirstUse: (() => void) | null;

  /** `onFirstUse` lets a transport start watching the client only when the app cares (see http/server.ts). */
  constructor(onFirstUse: (() => void) | null = null) {
    this.#onFirstUse = onFirstUse;
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
      const onFirstUse = this.#onFirstUse;
      this.#onFirstUse = null;
      onFirstUse?.();
    }
    return this.#controller.signal;
  }

  abort(reason?: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason ?? new DOMException('This operation was aborted', 'AbortError');
    this.#controller?.abort(this.#reason);
  }
}
