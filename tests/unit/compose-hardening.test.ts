/**
 * compose.yaml hardens every mode (issue 7): checked without Docker, so a
 * service that loses a setting fails in seconds, before the matrix would
 * start its containers that way. What the settings do in a real container is
 * tests/integration/hardening.test.ts's part.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { hardeningFor } from '../integration/hardening.ts';
import { MODES } from '../integration/matrix.ts';

describe.each(MODES)('compose.yaml, %s', (mode) => {
  const h = hardeningFor(mode);

  test('read-only root, every capability dropped, no new privileges', () => {
    expect(h).toMatchObject({ readOnly: true, capDrop: ['ALL'], securityOpt: ['no-new-privileges:true'] });
  });

  test('each tmpfs belongs to www-data (33), is private to it and has a size cap', () => {
    expect(Object.keys(h.tmpfs).length).toBeGreaterThan(0);
    for (const [path, options] of Object.entries(h.tmpfs)) {
      const set = Object.fromEntries(options.split(',').map((o) => o.split('=') as [string, string]));
      expect({ path, uid: set.uid, gid: set.gid, mode: set.mode, sized: /^\d+[kmg]$/.test(set.size ?? '') })
        .toEqual({ path, uid: '33', gid: '33', mode: '0700', sized: true });
    }
  });
});

test('a service without the settings reads as not hardened, and a missing one names the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'compose-hardening-'));
  const file = join(dir, 'compose.yaml');
  writeFileSync(file, 'services:\n  nginx-fcgi:\n    image: x\n    tmpfs: /run\n');
  expect(hardeningFor('nginx-fcgi', file)).toEqual({ readOnly: false, capDrop: [], securityOpt: [], tmpfs: { '/run': '' } });
  expect(() => hardeningFor('apache-cgi', file)).toThrow(`${file}: no service "apache-cgi"`);
});
