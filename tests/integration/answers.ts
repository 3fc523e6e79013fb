/**
 * Sends each corpus request to every running container once and remembers
 * the answers, so the identity, correctness and cross-mount tests of a case
 * look at the same responses. Requests are spread over the containers with a
 * bounded number in flight (this runs on two cores).
 */
import { requestFor, type Case } from './corpus.ts';
import type { Sent } from './contract.ts';
import { MODES, type Mode, type Mount, type Target } from './matrix.ts';
import { send, type RawResponse } from './raw-http.ts';

export type Outcome = { ok: true; response: RawResponse } | { ok: false; error: Error };

export interface CaseAnswers {
  sent: Sent;
  byMode: Map<Mode, Outcome>;
}

/** A counting semaphore: at most `limit` requests on the wire. */
class Lanes {
  #free: number;
  #waiting: Array<() => void> = [];
  constructor(limit: number) {
    this.#free = limit;
  }
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }
}

export class AnswerBook {
  readonly targets: Target[];
  readonly modes: Mode[];
  #lanes: Lanes;
  #memo = new Map<string, Promise<CaseAnswers>>();

  constructor(targets: Target[], concurrency = 6) {
    this.targets = targets;
    this.modes = MODES.filter((m) => targets.some((t) => t.mode === m));
    this.#lanes = new Lanes(concurrency);
  }

  target(mode: Mode, mount: Mount): Target {
    const found = this.targets.find((t) => t.mode === mode && t.mount === mount);
    if (!found) throw new Error(`no container for ${mode} at "${mount}"`);
    return found;
  }

  /** Never rejects: a failed request is an Outcome, reported by the test that looks at it. */
  answers(c: Case, mount: Mount): Promise<CaseAnswers> {
    const key = `${mount}\0${c.name}`;
    let entry = this.#memo.get(key);
    if (!entry) {
      const { raw, sent } = requestFor(c, mount);
      entry = Promise.all(this.modes.map(async (mode): Promise<[Mode, Outcome]> => {
        const { port } = this.target(mode, mount);
        const outcome = await this.#lanes.run(() => send(raw, { port }))
          .then((response): Outcome => ({ ok: true, response }), (error: unknown): Outcome => ({ ok: false, error: error as Error }));
        return [mode, outcome];
      })).then((pairs) => ({ sent, byMode: new Map(pairs) }));
      this.#memo.set(key, entry);
    }
    return entry;
  }
}
