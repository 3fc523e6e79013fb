/**
 * One request's body (FastCGI's FCGI_STDIN stream, or the bytes after an
 * HTTP/1.1 request head) as the AsyncIterable the translator pulls from.
 * The only brake is the connection's socket (FastCGI has no per-request flow
 * control): when the app falls more than a high-water mark behind, the queue
 * says "full" and the connection pauses reading until it has caught up.
 * Nothing is buffered without bound.
 */
export class RequestBodyQueue implements AsyncIterable<Uint8Array> {
  readonly #highWaterMark: number;
  readonly #onFullChange: (full: boolean) => void;
  #chunks: Uint8Array[] = [];
  #bytes = 0;
  #full = false;
  #ended = false;
  #discarding = false;
  #error: unknown = null;
  #wake: (() => void) | null = null;

  constructor(highWaterMark: number, onFullChange: (full: boolean) => void) {
    this.#highWaterMark = highWaterMark;
    this.#onFullChange = onFullChange;
  }

  /** Bytes received and not yet taken by the app. */
  get buffered(): number {
    return this.#bytes;
  }

  get ended(): boolean {
    return this.#ended;
  }

  push(chunk: Uint8Array): void {
    if (this.#ended || this.#discarding || this.#error !== null || chunk.byteLength === 0) return;
    this.#chunks.push(chunk);
    this.#bytes += chunk.byteLength;
    this.#update();
  }

  /** The end of the body (FastCGI: the empty FCGI_STDIN record). */
  end(): void {
    this.#ended = true;
    this.#update();
  }

  /** The request is gone (aborted, connection lost): a reader gets this error. */
  fail(error: unknown): void {
    if (this.#ended && this.#chunks.length === 0) return;
    this.#error = error;
    this.#drop();
  }

  /** Nobody will read any more: drop what is held and whatever still arrives. */
  discard(): void {
    this.#discarding = true;
    this.#drop();
  }

  #drop(): void {
    this.#chunks = [];
    this.#bytes = 0;
    this.#update();
  }

  #update(): void {
    const full = this.#bytes > this.#highWaterMark;
    if (full !== this.#full) {
      this.#full = full;
      this.#onFullChange(full);
    }
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return {
      next: async (): Promise<IteratorResult<Uint8Array>> => {
        for (;;) {
          if (this.#error !== null) throw this.#error;
          const chunk = this.#chunks.shift();
          if (chunk) {
            this.#bytes -= chunk.byteLength;
            this.#update();
            return { value: chunk, done: false };
          }
          if (this.#ended || this.#discarding) return { value: undefined, done: true };
          await new Promise<void>((resolve) => { this.#wake = resolve; });
        }
      },
      // The translator stops early at CONTENT_LENGTH or the body limit: the rest is not wanted.
      return: async (): Promise<IteratorResult<Uint8Array>> => {
        this.discard();
        return { value: undefined, done: true };
      },
    };
  }
}
