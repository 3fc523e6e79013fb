/**
 * How compose.yaml runs each mode (read-only root, dropped capabilities,
 * no-new-privileges, tmpfs mounts), read from compose.yaml itself so that the
 * integration run starts its containers exactly the same way: a setting that
 * compose.yaml loses, the matrix loses too, and a mode that cannot run
 * hardened fails to start in the tests.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import type { Mode } from './matrix.ts';

export interface Hardening {
  readOnly: boolean;
  capDrop: string[];
  securityOpt: string[];
  /** mount point -> tmpfs options, as docker's --tmpfs takes them */
  tmpfs: Record<string, string>;
}

export const COMPOSE_FILE = resolve(import.meta.dirname, '../../compose.yaml');

interface ComposeService {
  read_only?: boolean;
  cap_drop?: string[];
  security_opt?: string[];
  tmpfs?: string | string[];
}

/** The hardening settings of `mode`'s service; throws, naming the file, when the service is missing. */
export function hardeningFor(mode: Mode, file = COMPOSE_FILE): Hardening {
  const compose = parse(readFileSync(file, 'utf8'), { merge: true }) as { services?: Record<string, ComposeService> };
  const service = compose.services?.[mode];
  if (!service) throw new Error(`${file}: no service "${mode}"`);
  const tmpfs: Record<string, string> = {};
  for (const entry of [service.tmpfs ?? []].flat()) {
    const colon = entry.indexOf(':');
    if (colon === -1) tmpfs[entry] = '';
    else tmpfs[entry.slice(0, colon)] = entry.slice(colon + 1);
  }
  return {
    readOnly: service.read_only === true,
    capDrop: service.cap_drop ?? [],
    securityOpt: service.security_opt ?? [],
    tmpfs,
  };
}

/** The same settings as `docker run` flags, for the tests that start a mode's container by hand. */
export function dockerRunFlags(mode: Mode, file = COMPOSE_FILE): string[] {
  const h = hardeningFor(mode, file);
  return [
    ...(h.readOnly ? ['--read-only'] : []),
    ...h.capDrop.flatMap((cap) => ['--cap-drop', cap]),
    ...h.securityOpt.flatMap((opt) => ['--security-opt', opt]),
    ...Object.entries(h.tmpfs).flatMap(([path, options]) => ['--tmpfs', options ? `${path}:${options}` : path]),
  ];
}

/**
 * A testcontainers container for `image`, started the way compose.yaml starts
 * `mode` (testcontainers has no read-only switch of its own, hence the host
 * config). Refuses a mode that compose.yaml does not harden.
 */
export async function hardenedContainer(image: string, mode: Mode, file = COMPOSE_FILE) {
  const { GenericContainer } = await import('testcontainers');
  const h = hardeningFor(mode, file);
  if (!h.readOnly || !h.capDrop.includes('ALL') || !h.securityOpt.includes('no-new-privileges:true')) {
    throw new Error(`${file}: service ${mode} must have read_only: true, cap_drop: [ALL] and security_opt: [no-new-privileges:true]`);
  }
  class HardenedContainer extends GenericContainer {
    constructor() {
      super(image);
      this.hostConfig.ReadonlyRootfs = true;
    }
  }
  return new HardenedContainer().withDroppedCapabilities(...h.capDrop).withSecurityOpt(...h.securityOpt).withTmpFs(h.tmpfs);
}
