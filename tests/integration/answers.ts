/**
 * Sends each corpus request to every running container once and remembers
 * the answers, so the identity, correctness and cross-mount tests of a case
 * look at the same responses. Requests are spread over the containers with a
 * bounded number in flight (this runs on two cores).
 */
import { requestFor, type Case } from './corpus.ts';
import type { Sent } from './contract.ts';
import { MODES, type Missing, type Mode, type Mount, type Target } from './matrix.ts';
import { send, type RawRequest, type RawResponse } from './raw-http.ts';

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
  readonly missing: Missing[];
  readonly modes: Mode[];
  #lanes: Lanes;
  #memo = new Map<string, Promise<CaseAnswers>>();

  constructor(targets: Target[], missing: Missing[], concurrency = 6) {
    this.targets = targets;
    this.missing = missing;
    this.modes = MODES.filter((m) => targets.some((t) => t.mode === m) || missing.some((t) => t.mode === m));
    this.#lanes = new Lanes(concurrency);
  }

  async #send(mode: Mode, mount: Mount, raw: RawRequest): Promise<Outcome> {
    const target = this.targets.find((t) => t.mode === mode && t.mount === mount);
    if (!target) {
      const why = this.missing.find((t) => t.mode === mode && t.mount === mount)?.reason.split('\n')[0];
      return { ok: false, error: new Error(why ?? `no container for ${mode} at "${mount}"`) };
    }
    return this.#lanes.run(() => send(raw, { port: target.port }))
      .then((response): Outcome => ({ ok: true, response }), (error: unknown): Outcome => ({ ok: false, error: error as Error }));
  }

  /** Never rejects: a failed request is an Outcome, reported by the test that looks at it. */
  answers(c: Case, mount: Mount): Promise<CaseAnswers> {
    const key = `${mount}\0${c.name}`;
    let entry = this.#memo.get(key);
    if (!entry) {
      const { raw, sent } = requestFor(c, mount);
      entry = Promise.all(this.modes.map(async (mode): Promise<[Mode, Outcome]> => [mode, await this.#send(mode, mount, raw)]))
        .then((pairs) => ({ sent, byMode: new Map(pairs) }));
      this.#memo.set(key, entry);
    }
    return entry;
  }
}
