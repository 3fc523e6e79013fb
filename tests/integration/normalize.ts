/**
 * "Identical" as docs/design.md#51-identical defines it: the same status, the same
 * headers and the same body bytes (after de-chunking), ignoring only Date,
 * Server, Connection, Keep-Alive, the framing headers and reason phrases.
 * Plus the readable report of who differs from whom, and how.
 */
import { createHash } from 'node:crypto';
import type { HeaderPairs, RawResponse } from './raw-http.ts';

/** Framing (Transfer-Encoding vs Content-Length) is checked separately: a present Content-Length must be right. */
export const IGNORED_HEADERS = new Set(['date', 'server', 'connection', 'keep-alive', 'transfer-encoding', 'content-length']);

export interface Normalized {
  status: number;
  /** Sorted by name; repeated names keep their order (Set-Cookie). */
  headers: HeaderPairs;
  body: Buffer;
}

export function normalize(res: RawResponse, volatile?: (body: string) => string): Normalized {
  const headers = res.headers
    .filter(([name]) => !IGNORED_HEADERS.has(name))
    .map(([name, value], index) => ({ name, value, index }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.index - b.index))
    .map(({ name, value }): [string, string] => [name, value]);
  const body = volatile ? Buffer.from(volatile(res.body.toString('utf8')), 'utf8') : res.body;
  return { status: res.status, headers, body };
}

export function fingerprint(n: Normalized): string {
  return JSON.stringify([n.status, n.headers, n.body.length, createHash('sha256').update(n.body).digest('hex')]);
}

/**
 * The root-mount form of an answer from the mount `prefix`: the prefix
 * removed from the body and from the headers, a cookie Path of exactly the
 * mount becoming "/".
 */
export function withoutPrefix(n: Normalized, prefix: string): Normalized {
  const cookiePath = new RegExp(`(Path=)${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?=;|$)`, 'g');
  const strip = (text: string) => text.replace(cookiePath, '$1/').replaceAll(prefix, '');
  return {
    status: n.status,
    headers: n.headers.map(([name, value]): [string, string] => [name, strip(value)]),
    body: Buffer.from(strip(n.body.toString('latin1')), 'latin1'),
  };
}

function clip(text: string, max = 160): string {
  return text.length > max ? `${text.slice(0, max)}...(${text.length} chars)` : text;
}

function isText(body: Buffer): boolean {
  return Buffer.from(body.toString('utf8'), 'utf8').equals(body) && !body.includes(0);
}

function bodyDifference(a: Buffer, b: Buffer): string | undefined {
  if (a.equals(b)) return undefined;
  if (isText(a) && isText(b)) {
    const la = a.toString('utf8').split('\n');
    const lb = b.toString('utf8').split('\n');
    let i = 0;
    while (i < la.length && i < lb.length && la[i] === lb[i]) i++;
    return `body (${a.length} vs ${b.length} bytes) differs at line ${i + 1}: ${JSON.stringify(clip(la[i] ?? '<end>'))} vs ${JSON.stringify(clip(lb[i] ?? '<end>'))}`;
  }
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return `body (${a.length} vs ${b.length} bytes) differs from byte ${i}`;
}

/** Every way `b` differs from `a`, one line each. */
export function differences(a: Normalized, b: Normalized): string[] {
  const out: string[] = [];
  if (a.status !== b.status) out.push(`status ${a.status} vs ${b.status}`);
  const names = [...new Set([...a.headers, ...b.headers].map(([n]) => n))].sort();
  for (const name of names) {
    const va = a.headers.filter(([n]) => n === name).map(([, v]) => v);
    const vb = b.headers.filter(([n]) => n === name).map(([, v]) => v);
    if (JSON.stringify(va) !== JSON.stringify(vb)) {
      out.push(`header ${name}: ${va.length ? JSON.stringify(va.length === 1 ? va[0] : va) : '(absent)'} vs ${vb.length ? JSON.stringify(vb.length === 1 ? vb[0] : vb) : '(absent)'}`);
    }
  }
  const body = bodyDifference(a.body, b.body);
  if (body) out.push(body);
  return out;
}

/**
 * Groups the answers by equality. undefined when all are equal; otherwise a
 * report naming the modes in each group and how each minority group differs
 * from the largest one.
 */
export function describeDisagreement<K extends string>(answers: Map<K, Normalized>): string | undefined {
  const groups = new Map<string, K[]>();
  for (const [key, n] of answers) {
    const fp = fingerprint(n);
    groups.set(fp, [...(groups.get(fp) ?? []), key]);
  }
  if (groups.size <= 1) return undefined;
  const ordered = [...groups.values()].sort((a, b) => b.length - a.length);
  const reference = ordered[0]!;
  const ref = answers.get(reference[0]!)!;
  const lines = [`${groups.size} different answers:`, `  [${reference.join(', ')}]: status ${ref.status}, ${ref.body.length} body bytes`];
  for (const group of ordered.slice(1)) {
    lines.push(`  [${group.join(', ')}] vs [${reference.join(', ')}]:`);
    for (const line of differences(answers.get(group[0]!)!, ref)) lines.push(`      ${line}`);
  }
  return lines.join('\n');
}
