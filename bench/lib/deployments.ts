/**
 * What `make bench` runs in containers: our five deployments and the classic
 * stacks they mirror (bench/anchors/, Debian packages, the same /hello route
 * and the same pool of 2 app processes), plus nginx's own `return 200`.
 */
// The hardening is read from compose.yaml by the same code the integration run uses.
import { dockerRunFlags } from '../../tests/integration/hardening.ts';
import type { Mode } from '../../tests/integration/matrix.ts';

export interface Deployment {
  name: string;
  kind: 'ours' | 'classic' | 'ceiling';
  tag: string;
  dockerfile: string;
  /** The Dockerfile stage to build (ours: the mode's stage of images/Dockerfile). */
  target?: string;
  /** Docker build context, relative to the repository root. */
  context: string;
  /** The classic stack (or our deployment) this one is compared with. */
  comparedWith?: string;
  /** Goal from the issue: this deployment's req/s at least `goal` x comparedWith's. */
  goal?: number;
  /** A process per request: fewer connections, no memory soak. */
  perRequestProcess?: boolean;
  /** The app processes, by command line (their RSS is reported). */
  appProcess: RegExp;
  /** Extra `docker run` flags: ours run hardened, exactly as compose.yaml runs them. */
  runArgs?: readonly string[];
}

const ours = (name: Mode, more: Partial<Deployment>): Deployment => ({
  name,
  kind: 'ours',
  runArgs: dockerRunFlags(name),
  tag: `yourapplication/${name}:latest`,
  dockerfile: 'images/Dockerfile',
  target: name,
  context: '.',
  appProcess: /\bnode\b/,
  ...more,
});

const classic = (name: string, appProcess: RegExp, more: Partial<Deployment> = {}): Deployment => ({
  name,
  kind: 'classic',
  tag: `yourapplication-anchor/${name}:latest`,
  dockerfile: `bench/anchors/${name}/Dockerfile`,
  context: `bench/anchors/${name}`,
  appProcess,
  ...more,
});

export const DEPLOYMENTS: Deployment[] = [
  ours('apache-cgi', { comparedWith: 'apache-cgi-flask', goal: 3, perRequestProcess: true }),
  ours('apache-fcgid', { comparedWith: 'apache-modwsgi-flask', goal: 1.5 }),
  ours('nginx-fcgi', { comparedWith: 'nginx-php-fpm', goal: 1.2 }),
  ours('lighttpd-fcgi', { comparedWith: 'nginx-fcgi', goal: 0.9 }),
  ours('nginx-prefork', { comparedWith: 'nginx-gunicorn-flask', goal: 3 }),
  // The Apache anchors build from the project's root: they log through our
  // access-log batcher (configs/apache/access-log-batch.pl), as ours do.
  classic('apache-cgi-flask', /python3/, { perRequestProcess: true, context: '.' }),
  classic('apache-modwsgi-flask', /wsgi|apache2/, { context: '.' }),
  classic('nginx-php-fpm', /php-fpm: pool/),
  classic('nginx-gunicorn-flask', /gunicorn/),
  { ...classic('nginx-return', /nginx: worker/), kind: 'ceiling' },
];

export const CEILING = 'nginx-return';
