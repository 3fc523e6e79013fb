// images/common/mount.sh, the one check of the mount setting (the images'
// entrypoint and `make up` both run it), under a real POSIX shell.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const SCRIPT = join(import.meta.dirname, '../../images/common/mount.sh');
const check = (value: string) => spawnSync('/bin/sh', [SCRIPT, value], { encoding: 'utf8' });

describe('the mount setting', () => {
  it.each([
    ['', { APP_MOUNT: '', APP_MOUNT_PATH: '/', APP_MOUNT_PATTERN: '' }],
    ['/', { APP_MOUNT: '', APP_MOUNT_PATH: '/', APP_MOUNT_PATTERN: '' }],
    ['/yourapplication', { APP_MOUNT: '/yourapplication', APP_MOUNT_PATH: '/yourapplication', APP_MOUNT_PATTERN: '/yourapplication' }],
    ['/team-1/app.v2/', { APP_MOUNT: '/team-1/app.v2', APP_MOUNT_PATH: '/team-1/app.v2', APP_MOUNT_PATTERN: '/team-1/app\\.v2' }],
    ['/a_b/~c/..d', { APP_MOUNT: '/a_b/~c/..d', APP_MOUNT_PATH: '/a_b/~c/..d', APP_MOUNT_PATTERN: '/a_b/~c/\\.\\.d' }],
  ])('accepts "%s"', (value, settings) => {
    const run = check(value);
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    const lines = Object.entries(settings).map(([name, v]) => `${name}='${v}'`);
    expect(run.stdout).toBe(`${lines.join('\n')}\n`);
  });

  it.each([
    ['blog', 'it must start with /'],
    ['/my blog', 'a character outside the rule'],
    ['/a;b', 'a character outside the rule'],
    ['/a$b', 'a character outside the rule'],
    ['/été', 'a character outside the rule'],
    ['/a%2Fb', 'a character outside the rule'],
    ['/a\nb', 'a character outside the rule'],
    ['/a//b', 'an empty segment'],
    ['//', 'an empty segment'],
    ['/a/../b', 'a . or .. segment'],
    ['/.', 'a . or .. segment'],
  ])('refuses %j, naming the value and the rule, with status 64', (value, why) => {
    const run = check(value);
    expect(run.status).toBe(64);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`bad mount APP_MOUNT="${value}" (MOUNT for make and compose): ${why}.`);
    expect(run.stderr).toContain('A mount is "" or "/" (the root), or path segments like /team-1/app.v2');
  });
});
