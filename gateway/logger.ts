/**
 * The gateway's one logger, handed to the request cycle and every transport
 * (tests pass their own sink instead of patching process.stderr).
 *
 * It is called only on errors and lifecycle events, never per request. Lines
 * whose rate a client chooses (malformed FastCGI input, bad requests, an app
 * that throws on every request) go through admit(kind): the first few of each
 * kind in a window are written, the rest are counted, and when the window
 * closes one line sums them up ("... and 512 more like it in the last 10 s").
 * A hostile peer then costs a bounded number of lines, and the operator still
 * sees the first examples in full and how many followed.
 */

/** Where finished lines go: stderr by default (docker logs, the web server's error log). */
export type LogSink = (line: string) => void;

/** Lines that can repeat as fast as requests arrive; each kind has its own budget. */
export type FloodKind = 'malformed-input' | 'bad-request' | 'app-error' | 'refused-connection' | 'connection-error';

const KIND_TEXT: Record<FloodKind, string> = {
  'malformed-input': 'malformed FastCGI input',
  'bad-request': 'bad requests',
  'app-error': 'app errors',
  'refused-connection': 'refused connections',
  'connection-error': 'connection errors',
};

/** Time and a one-shot timer, injectable so tests step the window without waiting. */
export interface LogClock {
  now(): number;
  later(callback: () => void, ms: number): void;
}

export interface LoggerOptions {
  sink?: LogSink;
  /** Lines of one kind written per window; the rest are counted. */
  linesPerWindow?: number;
  windowMs?: number;
  clock?: LogClock;
}

export const DEFAULT_LINES_PER_WINDOW = 10;
export const DEFAULT_LOG_WINDOW_MS = 10_000;

const realClock: LogClock = {
  now: () => performance.now(),
  // unref: a pending summary must not keep a finished process alive.
  later: (callback, ms) => void setTimeout(callback, ms).unref(),
};

function stderrSink(line: string): void {
  process.stderr.write(`${line}\n`);
}

interface Window {
  readonly start: number;
  written: number;
  suppressed: number;
}

function formatSeconds(ms: number): string {
  const seconds = ms / 1000;
  return seconds >= 10 ? String(Math.round(seconds)) : String(Math.round(seconds * 10) / 10);
}

export class Logger {
  readonly #sink: LogSink;
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #clock: LogClock;
  readonly #windows = new Map<FloodKind, Window>();

  constructor(options: LoggerOptions = {}) {
    this.#sink = options.sink ?? stderrSink;
    this.#limit = options.linesPerWindow ?? DEFAULT_LINES_PER_WINDOW;
    this.#windowMs = options.windowMs ?? DEFAULT_LOG_WINDOW_MS;
    this.#clock = options.clock ?? realClock;
  }

  /** A lifecycle line or a one-off error: always written. */
  write(line: string): void {
    this.#sink(line);
  }

  /**
   * May a line of this kind be written now? True for the first lines of the
   * kind's window; after that false, and the line is counted for the summary.
   * Callers ask before building the line, so a suppressed one costs nothing.
   */
  admit(kind: FloodKind): boolean {
    const now = this.#clock.now();
    let window = this.#windows.get(kind);
    if (window && now - window.start >= this.#windowMs) {
      this.#close(kind, window, this.#windowMs);
      window = undefined;
    }
    if (!window) {
      window = { start: now, written: 0, suppressed: 0 };
      this.#windows.set(kind, window);
    }
    if (window.written < this.#limit) {
      window.written++;
      return true;
    }
    window.suppressed++;
    if (window.suppressed === 1) {
      // The summary comes out when the window closes, even if no line of this kind follows.
      const open = window;
      this.#clock.later(() => this.#close(kind, open, this.#windowMs), open.start + this.#windowMs - now);
    }
    return false;
  }

  /** write(line()) if admit(kind); the line is built only when it will be written. */
  limited(kind: FloodKind, line: string | (() => string)): void {
    if (this.admit(kind)) this.#sink(typeof line === 'string' ? line : line());
  }

  /** Writes the pending summaries now (a stopping server has no later window). */
  flush(): void {
    const now = this.#clock.now();
    for (const [kind, window] of [...this.#windows]) this.#close(kind, window, now - window.start);
  }

  #close(kind: FloodKind, window: Window, elapsedMs: number): void {
    if (this.#windows.get(kind) !== window) return;
    this.#windows.delete(kind);
    if (window.suppressed > 0) {
      this.#sink(`tsgi: ... and ${window.suppressed} more like it in the last ${formatSeconds(elapsedMs)} s (${KIND_TEXT[kind]})`);
    }
  }
}

let processLogger: Logger | undefined;

/** The process's logger on stderr: one budget per kind for every server in the process. */
export function defaultLogger(): Logger {
  processLogger ??= new Logger();
  return processLogger;
}

/** A Logger from what a caller passed: a Logger, a plain sink (wrapped with the default limits), or nothing (stderr). */
export function toLogger(log: Logger | LogSink | undefined): Logger {
  if (log instanceof Logger) return log;
  return log ? new Logger({ sink: log }) : defaultLogger();
}
