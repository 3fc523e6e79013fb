/**
 * The matrix: every corpus request, at the three mounts, against all five modes.
 * For each case:
 *   - identical: the five normalized answers are equal (docs/design.md#51-identical);
 *     a failure names the modes in each disagreeing group and how they differ;
 *   - correct: each mode's answer meets the route contract, computed from the
 *     request (five identical wrong answers fail here);
 *   - same at every mount: per mode, each prefixed mount's answer with the
 *     prefix swapped out equals the root-mount answer.
 */
import { beforeAll, describe, inject, test } from 'vitest';
import { AnswerBook, type CaseAnswers } from './answers.ts';
import { CORPUS, crossMount, type Case } from './corpus.ts';
import { MOUNTS, mountLabel, PREFIXES, type Mode } from './matrix.ts';
import { describeDisagreement, differences, normalize, withoutPrefix, type Normalized } from './normalize.ts';

const book = new AnswerBook(inject('integrationTargets'), inject('integrationMissing'));

beforeAll(() => {
  // Queue every request now: the bounded lanes keep the containers busy while tests check earlier answers.
  for (const c of CORPUS) for (const mount of MOUNTS) void book.answers(c, mount);
});

function failedRequests(answers: CaseAnswers): string[] {
  return [...answers.byMode].filter(([, o]) => !o.ok).map(([mode, o]) => `[${mode}] request failed: ${(o as { error: Error }).error.message}`);
}

function normalizedByMode(c: Case, answers: CaseAnswers): Map<Mode, Normalized> {
  const out = new Map<Mode, Normalized>();
  for (const [mode, outcome] of answers.byMode) if (outcome.ok) out.set(mode, normalize(outcome.response, c.volatile));
  return out;
}

function clip(value: unknown, max = 300): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > max ? `${text.slice(0, max)}...(${text.length} chars)` : text;
}

/** An assertion error as one readable block: the message, and for object comparisons the differing keys. */
function explain(error: unknown): string {
  const e = error as Error & { actual?: unknown; expected?: unknown };
  const head = e.message.split('\n')[0]!.replace(/: expected .*/, '');
  const actual = e.actual as Record<string, unknown> | undefined;
  const expected = e.expected as Record<string, unknown> | undefined;
  if (actual && expected && typeof actual === 'object' && typeof expected === 'object' && !Array.isArray(actual)) {
    const keys = [...new Set([...Object.keys(actual), ...Object.keys(expected)])]
      .filter((k) => JSON.stringify(actual[k]) !== JSON.stringify(expected[k]));
    const prefix = head.startsWith('expected ') ? 'mismatch' : head;
    return [prefix, ...keys.map((k) => `  ${k}: got ${clip(actual[k])}, want ${clip(expected[k])}`)].join('\n      ');
  }
  if ('actual' in e || 'expected' in e) return `${head.startsWith('expected ') ? 'mismatch' : head}: got ${clip(e.actual)}, want ${clip(e.expected)}`;
  return e.message.split('\n').slice(0, 20).join('\n      ');
}

function fail(lines: string[], what: string): void {
  if (lines.length > 0) throw new Error(`${what}\n${lines.join('\n')}`);
}

describe.each(CORPUS.map((c) => [c.name, c] as const))('%s', (_name, c) => {
  for (const mount of MOUNTS) {
    test(`identical in every mode (${mountLabel(mount)})`, async () => {
      const answers = await book.answers(c, mount);
      const problems = failedRequests(answers);
      const report = describeDisagreement(normalizedByMode(c, answers));
      if (report) problems.push(report);
      fail(problems, `${answers.sent.method} ${answers.sent.targetText} (${mountLabel(mount)}): the modes disagree`);
    });

    test(`correct in every mode (${mountLabel(mount)})`, async () => {
      const answers = await book.answers(c, mount);
      const problems = failedRequests(answers);
      for (const [mode, outcome] of answers.byMode) {
        if (!outcome.ok) continue;
        try {
          c.expect(outcome.response, answers.sent);
        } catch (error) {
          problems.push(`[${mode}] ${explain(error)}`);
        }
      }
      fail(problems, `${answers.sent.method} ${answers.sent.targetText} (${mountLabel(mount)}): wrong answers`);
    });
  }

  if (crossMount(c)) {
    for (const prefix of PREFIXES) {
      test(`the same at ${prefix} as at the root, prefix swapped`, async () => {
        const [root, prefixed] = await Promise.all([book.answers(c, ''), book.answers(c, prefix)]);
        const rootN = normalizedByMode(c, root);
        const prefixedN = normalizedByMode(c, prefixed);
        const problems: string[] = [];
        for (const mode of book.modes) {
          const a = rootN.get(mode);
          const b = prefixedN.get(mode);
          if (!a || !b) continue; // a failed request is reported by the other tests
          const diff = differences(a, withoutPrefix(b, prefix));
          if (diff.length > 0) problems.push(`[${mode}] root mount vs ${prefix} (prefix removed):\n      ${diff.join('\n      ')}`);
        }
        fail(problems, `${c.method ?? 'GET'} ${String(c.path)}: the mounts disagree`);
      });
    }
  }
});
