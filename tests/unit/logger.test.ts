// The rate limiter of the gateway's logger, stepped with an injected clock: no sleeps.
import { describe, expect, it } from 'vitest';
import { Logger, type LogClock } from '../../gateway/logger.ts';

/** A clock the test moves by hand; timers fire when it passes their time. */
class ManualClock implements LogClock {
  time = 0;
  #timers: Array<{ at: number; callback: () => void }> = [];
  now(): number {
    return this.time;
  }
  later(callback: () => void, ms: number): void {
    this.#timers.push({ at: this.time + ms, callback });
  }
  advance(ms: number): void {
    this.time += ms;
    const due = this.#timers.filter((timer) => timer.at <= this.time);
    this.#timers = this.#timers.filter((timer) => timer.at > this.time);
    for (const timer of due) timer.callback();
  }
}

function setup(linesPerWindow = 3, windowMs = 10_000) {
  const clock = new ManualClock();
  const lines: string[] = [];
  const logger = new Logger({ sink: (line) => lines.push(line), linesPerWindow, windowMs, clock });
  return { clock, lines, logger };
}

describe('Logger', () => {
  it('writes lifecycle lines always, however many', () => {
    const { lines, logger } = setup(1);
    for (let i = 0; i < 50; i++) logger.write(`line ${i}`);
    expect(lines).toHaveLength(50);
  });

  it('writes the first N lines of a kind per window, then one summary line when the window closes', () => {
    const { clock, lines, logger } = setup(3);
    for (let i = 0; i < 515; i++) logger.limited('malformed-input', `bad input ${i}`);
    expect(lines).toEqual(['bad input 0', 'bad input 1', 'bad input 2']);
    clock.advance(9_999);
    expect(lines).toHaveLength(3);
    clock.advance(1);
    expect(lines).toEqual([
      'bad input 0', 'bad input 1', 'bad input 2',
      'tsgi: ... and 512 more like it in the last 10 s (malformed FastCGI input)',
    ]);
  });

  it('starts a new window after the old one closed, with a fresh budget', () => {
    const { clock, lines, logger } = setup(2);
    for (let i = 0; i < 5; i++) logger.limited('bad-request', `a${i}`);
    clock.advance(10_000);
    for (let i = 0; i < 3; i++) logger.limited('bad-request', `b${i}`);
    expect(lines).toEqual(['a0', 'a1', 'tsgi: ... and 3 more like it in the last 10 s (bad requests)', 'b0', 'b1']);
    clock.advance(10_000);
    expect(lines.at(-1)).toBe('tsgi: ... and 1 more like it in the last 10 s (bad requests)');
  });

  it('a window with nothing suppressed closes without a line', () => {
    const { clock, lines, logger } = setup(5);
    logger.limited('app-error', 'only one');
    clock.advance(60_000);
    logger.limited('app-error', 'next window');
    expect(lines).toEqual(['only one', 'next window']);
  });

  it('each kind has its own budget: a flood of one does not silence another', () => {
    const { lines, logger } = setup(2);
    for (let i = 0; i < 100; i++) logger.limited('malformed-input', 'noise');
    logger.limited('app-error', 'the stack that matters');
    expect(lines).toEqual(['noise', 'noise', 'the stack that matters']);
  });

  it('builds a suppressed line never (the caller passes a function)', () => {
    const { logger } = setup(1);
    let built = 0;
    for (let i = 0; i < 10; i++) logger.limited('app-error', () => `line ${++built}`);
    expect(built).toBe(1);
  });

  it('flush() writes pending summaries at once, with the time actually covered', () => {
    const { clock, lines, logger } = setup(1);
    logger.limited('app-error', 'first');
    logger.limited('app-error', 'second');
    clock.advance(2_500);
    logger.flush();
    expect(lines).toEqual(['first', 'tsgi: ... and 1 more like it in the last 2.5 s (app errors)']);
    // The window's timer firing later must not repeat the summary.
    clock.advance(10_000);
    expect(lines).toHaveLength(2);
  });
});
