/**
 * The deployment matrix under test: five modes, three mounts. Shared by the
 * global setup (which builds and starts it) and the test files (which get
 * the running containers through vitest's provide/inject).
 */
export const MODES = ['apache-cgi', 'apache-fcgid', 'nginx-fcgi', 'lighttpd-fcgi', 'nginx-prefork'] as const;
export type Mode = (typeof MODES)[number];

/**
 * APP_MOUNT values: the root mount, the seeds' /yourapplication, and two
 * segments with characters that need care in the servers' configs ("." is a
 * regex wildcard, "-" a range in a character class).
 */
export const MOUNTS = ['', '/yourapplication', '/team-1/app.v2'] as const;
export type Mount = (typeof MOUNTS)[number];
/** The mounts below the root, each compared with the root after taking it out. */
export const PREFIXES = MOUNTS.filter((m): m is Exclude<Mount, ''> => m !== '');

/**
 * The tag the run builds each mode's image under: `:test` unless
 * TEST_IMAGE_TAG names another, so that two checkouts can run the matrix on
 * one Docker engine without overwriting each other's images.
 */
export function imageTag(mode: Mode, env: NodeJS.ProcessEnv = process.env): string {
  const tag = env.TEST_IMAGE_TAG?.trim() || 'test';
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag)) throw new Error(`TEST_IMAGE_TAG=${JSON.stringify(tag)} is not a Docker tag`);
  return `yourapplication/${mode}:${tag}`;
}

export function mountLabel(mount: Mount): string {
  return mount === '' ? 'root mount' : `mount ${mount}`;
}

/** One running container, as the tests see it. */
export interface Target {
  mode: Mode;
  mount: Mount;
  containerId: string;
  port: number;
}

/** Label on every container the integration run starts, so a crashed run's leftovers can be found. */
export const CONTAINER_LABEL = 'yourapplication.integration';
/** The pid of the process that started a container: leftovers of dead runs are removed, live runs' are not. */
export const OWNER_LABEL = `${CONTAINER_LABEL}.owner-pid`;

/**
 * Which modes to run: all five unless INTEGRATION_MODES names a subset
 * (comma-separated), which is for iterating on one server config.
 */
export function selectedModes(env: NodeJS.ProcessEnv = process.env): Mode[] {
  const raw = env.INTEGRATION_MODES?.trim();
  if (!raw) return [...MODES];
  const wanted = raw.split(',').map((m) => m.trim()).filter(Boolean);
  for (const mode of wanted) {
    if (!(MODES as readonly string[]).includes(mode)) throw new Error(`INTEGRATION_MODES: unknown mode "${mode}" (expected ${MODES.join(', ')})`);
  }
  return MODES.filter((m) => wanted.includes(m));
}

/** A container that did not come up: the tests for its mode and mount fail with this reason. */
export interface Missing {
  mode: Mode;
  mount: Mount;
  reason: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    integrationTargets: Target[];
    integrationMissing: Missing[];
  }
}
