import { STATUS_CODES } from './status-codes.ts';
import { Response } from './lazy-response.ts';

/**
 * The gateway's own answers (a handler that throws, a body over the limit).
 * They are deliberately plain and fixed, so that every transport and every web
 * server in front of it answers the same bytes; the server configs serve the
 * same text for the errors they produce themselves (configs/errors/).
 */
export function errorBody(status: number): string {
  return `${status} ${STATUS_CODES[status] ?? 'Error'}\n`;
}

/** The Content-Type of those answers. */
export const ERROR_CONTENT_TYPE = 'text/plain; charset=utf-8';

export function errorResponse(status: number): Response {
  return new Response(errorBody(status), {
    status,
    headers: { 'content-type': ERROR_CONTENT_TYPE },
  });
}

/** Raised inside the request body stream when the client sends more than the limit. */
export class RequestBodyTooLarge extends Error {
  readonly limit: number;
  constructor(limit: number) {
    super(`request body exceeds the limit of ${limit} bytes`);
    this.name = 'RequestBodyTooLarge';
    this.limit = limit;
  }
}
