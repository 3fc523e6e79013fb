// Random bytes and mutated valid records thrown at a real server over real sockets.
// Whatever arrives, the server must not crash or hang, must close each bad connection,
// and must still serve a valid request afterwards.
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCgiResponse } from '../../gateway/cgi-response.ts';
import { FastCgiClient, fastCgiRequest } from '../../gateway/fastcgi/client.ts';
import {
  encodeBeginRequestBody,
  encodeNameValuePairs,
  encodeRecord,
  FCGI_ABORT_REQUEST,
  FCGI_BEGIN_REQUEST,
  FCGI_GET_VALUES,
  FCGI_PARAMS,
  FCGI_STDIN,
} from '../../gateway/fastcgi/protocol.ts';
import { serveFastCgi, type FastCgiServer } from '../../gateway/fastcgi/server.ts';
import { DEFAULT_LINES_PER_WINDOW, Logger } from '../../gateway/logger.ts';
import app from '../fixtures/fastcgi-echo-app.ts';
import { cgiParams } from '../fixtures/fastcgi-params.ts';

/** mulberry32: small, seedable, good enough to pick mutations reproducibly. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = 20240601;
const CASES = 3000;
const CLOSE_DEADLINE_MS = 3000;

function validConversation(): Buffer {
  const body = Buffer.from('name=value&x=1');
  return Buffer.concat([
    encodeRecord(FCGI_GET_VALUES, 0, encodeNameValuePairs([['FCGI_MAX_CONNS', ''], ['FCGI_MPXS_CONNS', '']])),
    encodeRecord(FCGI_BEGIN_REQUEST, 1, encodeBeginRequestBody(1, 1)),
    encodeRecord(FCGI_PARAMS, 1, encodeNameValuePairs(Object.entries(cgiParams('/echo?a=1', {
      REQUEST_METHOD: 'POST', CONTENT_LENGTH: String(body.byteLength), CONTENT_TYPE: 'application/x-www-form-urlencoded',
    })))),
    encodeRecord(FCGI_PARAMS, 1),
    encodeRecord(FCGI_BEGIN_REQUEST, 2, encodeBeginRequestBody(1, 0)),
    encodeRecord(FCGI_PARAMS, 2, encodeNameValuePairs(Object.entries(cgiParams('/hello')))),
    encodeRecord(FCGI_STDIN, 1, body),
    encodeRecord(FCGI_PARAMS, 2),
    encodeRecord(FCGI_STDIN, 2),
    encodeRecord(FCGI_STDIN, 1),
    encodeRecord(FCGI_ABORT_REQUEST, 2),
  ]);
}

function mutate(random: () => number, input: Buffer): Buffer {
  const bytes = Buffer.from(input);
  const pick = (n: number): number => Math.floor(random() * n);
  switch (pick(6)) {
    case 0: // flip a few bytes anywhere
      for (let i = 0, n = 1 + pick(8); i < n; i++) bytes[pick(bytes.length)] = pick(256);
      return bytes;
    case 1: // flip bytes inside the first header: version, type, id, lengths, padding
      for (let i = 0, n = 1 + pick(3); i < n; i++) bytes[pick(8)] = pick(256);
      return bytes;
    case 2: // truncate
      return bytes.subarray(0, pick(bytes.length));
    case 3: { // splice in random garbage
      const at = pick(bytes.length);
      const junk = Buffer.from(Array.from({ length: 1 + pick(64) }, () => pick(256)));
      return Buffer.concat([bytes.subarray(0, at), junk, bytes.subarray(at)]);
    }
    case 4: { // a record type the server may not expect, on a random request id
      const record = encodeRecord(pick(256), pick(4), Buffer.from(Array.from({ length: pick(40) }, () => pick(256))));
      const at = pick(bytes.length);
      return Buffer.concat([bytes.subarray(0, at), record, bytes.subarray(at)]);
    }
    default: // pure noise
      return Buffer.from(Array.from({ length: 1 + pick(300) }, () => pick(256)));
  }
}

/** Sends bytes in random chunks, then FIN; resolves with whether the server closed in time. */
function throwAt(path: string, bytes: Buffer, random: () => number, sendFin: boolean): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ path });
    const timer = setTimeout(() => { socket.destroy(); resolve(false); }, CLOSE_DEADLINE_MS);
    socket.on('error', () => {});
    socket.on('data', () => {});
    socket.on('close', () => { clearTimeout(timer); resolve(true); });
    socket.once('connect', () => {
      for (let offset = 0; offset < bytes.length;) {
        const size = 1 + Math.floor(random() * 64);
        socket.write(bytes.subarray(offset, offset + size));
        offset += size;
      }
      if (sendFin) socket.end();
    });
  });
}

describe('FastCGI server under fuzzed input', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fcgi-fuzz-'));
  const path = join(dir, 'fuzz.sock');
  const logs: string[] = [];
  // A clock that stands still: one rate-limit window for the whole file, closed by flush().
  const logger = new Logger({ sink: (line) => logs.push(line), clock: { now: () => 0, later: () => {} } });
  let server: FastCgiServer;
  beforeAll(async () => {
    server = await serveFastCgi(app, { kind: 'unix', path }, { log: logger, maxConns: 1000 });
  });
  afterAll(async () => {
    await server.close(1000);
    rmSync(dir, { recursive: true, force: true });
  });

  it('closes connections that start with a bad version at once, without waiting for the client', async () => {
    const random = prng(SEED);
    for (let i = 0; i < 200; i++) {
      const bytes = Buffer.from(Array.from({ length: 8 + Math.floor(random() * 100) }, () => Math.floor(random() * 256)));
      if (bytes[0] === 1) bytes[0] = 2;
      expect(await throwAt(path, bytes, random, false)).toBe(true);
    }
    // Logged, but not 200 times: the first lines of the window, then one summary.
    expect(logs.filter((line) => /unsupported FastCGI version/.test(line)).length).toBe(DEFAULT_LINES_PER_WINDOW);
    logger.flush();
    expect(logs.at(-1)).toBe(`tsgi: ... and ${200 - DEFAULT_LINES_PER_WINDOW} more like it in the last 0 s (malformed FastCGI input)`);
  });

  it(`survives ${CASES} mutated conversations, closing every connection, then serves a valid request`, async () => {
    const random = prng(SEED + 1);
    const base = validConversation();
    const started = Date.now();
    let closed = 0;
    for (let batch = 0; batch < CASES; batch += 50) {
      const results = await Promise.all(Array.from({ length: 50 }, () => throwAt(path, mutate(random, base), random, true)));
      closed += results.filter(Boolean).length;
    }
    expect(closed).toBe(CASES);
    expect(Date.now() - started).toBeLessThan(60_000);
    // Nothing is left behind: no connection, no request slot.
    await new Promise((r) => setTimeout(r, 200));
    expect(server.connections).toBe(0);
    expect(server.activeRequests).toBe(0);
    // Every log line is one line.
    expect(logs.filter((line) => line.includes("\n"))).toEqual([]);

    const result = await fastCgiRequest({ path }, cgiParams('/echo', { REQUEST_METHOD: 'POST', CONTENT_LENGTH: '5' }), Buffer.from('hello'));
    const echo = JSON.parse(parseCgiResponse(result.stdout).body.toString());
    expect(echo.body.length).toBe(5);
  }, 90_000);

  it('the unmutated conversation itself is answered correctly', async () => {
    const client = await FastCgiClient.connect({ path });
    client.write(validConversation());
    const [one, two] = await Promise.all([client.result(1), client.result(2)]);
    expect(JSON.parse(parseCgiResponse(one.stdout).body.toString()).body.text).toBe('name=value&x=1');
    expect(two.protocolStatus).toBe(0);
    client.socket.destroy();
  });
});
