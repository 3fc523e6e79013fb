/** The gateway's reason phrases (gateway/status-codes.ts) are Node's, so every mode and Node's own servers agree. */
import { STATUS_CODES as NODE_STATUS_CODES } from 'node:http';
import { expect, it } from 'vitest';
import { STATUS_CODES } from '../../gateway/status-codes.ts';

it('has every status code node:http has, with the same reason phrase', () => {
  expect({ ...STATUS_CODES }).toEqual({ ...NODE_STATUS_CODES });
});
