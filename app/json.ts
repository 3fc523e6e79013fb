import { Response } from '../gateway/lazy-response.ts';

/** JSON with object keys sorted at every level, so equal data is equal bytes in every mode. */
export function sortedJson(value: unknown): string {
  return `${JSON.stringify(sortKeys(value), null, 2)}\n`;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value).sort().map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
  );
}

/** The sorted JSON with Content-Type application/json; `headers` add to it. */
export function jsonResponse(value: unknown, init: { status?: number; headers?: Record<string, string> } = {}): Response {
  return new Response(sortedJson(value), { ...init, headers: { ...init.headers, 'content-type': 'application/json' } });
}
