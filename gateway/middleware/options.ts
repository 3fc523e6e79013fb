/**
 * The middleware the tsgi options switch on (--trust-proxy, --hide-mount),
 * in their one right order, for every transport and the pre-fork workers.
 * Nothing is wrapped when nothing is asked for: no cost on the request path.
 */
import type { TsgiApp } from '../types.ts';
import { hideMount } from './hide-mount.ts';
import { proxyFix, type ProxyFixTrust } from './proxy-fix.ts';

export interface MiddlewareOptions {
  trustProxy?: ProxyFixTrust;
  hideMount?: boolean;
}

/** proxyFix outermost: the mount it finds (X-Forwarded-Prefix) is the one hideMount takes out. */
export function withOptions(app: TsgiApp, options: MiddlewareOptions): TsgiApp {
  const inner = options.hideMount ? hideMount(app) : app;
  return options.trustProxy ? proxyFix(inner, options.trustProxy) : inner;
}
