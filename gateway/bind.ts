/**
 * Where a server listens, parsed from gunicorn-style --bind values:
 *   unix:/run/app.sock   a unix socket (created by us, mode set with --socket-mode)
 *   127.0.0.1:9000       TCP (also [::1]:9000, :9000 for all addresses)
 *   fd:0                 an already listening socket inherited from the parent
 *                        (mod_fcgid, lighttpd bin-path, spawn-fcgi, supervisord fcgi-program)
 */
import type { ListenOptions } from 'node:net';

export type Bind =
  | { kind: 'unix'; path: string }
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'fd'; fd: number };

export class BindError extends Error {
  constructor(value: string, why: string) {
    super(`invalid bind ${JSON.stringify(value)}: ${why} (expected unix:PATH, HOST:PORT or fd:N)`);
    this.name = 'BindError';
  }
}

export function parseBind(value: string): Bind {
  if (value.startsWith('unix:')) {
    const path = value.slice('unix:'.length);
    if (!path) throw new BindError(value, 'empty socket path');
    return { kind: 'unix', path };
  }
  if (value.startsWith('fd:')) {
    const fd = Number(value.slice('fd:'.length));
    if (!Number.isInteger(fd) || fd < 0) throw new BindError(value, 'not a file descriptor number');
    return { kind: 'fd', fd };
  }
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(value);
  if (!match) throw new BindError(value, 'no port');
  const port = Number(match[3]);
  if (port > 65535) throw new BindError(value, 'port out of range');
  return { kind: 'tcp', host: match[1] ?? (match[2] || '0.0.0.0'), port };
}

export function formatBind(bind: Bind): string {
  switch (bind.kind) {
    case 'unix': return `unix:${bind.path}`;
    case 'fd': return `fd:${bind.fd}`;
    case 'tcp': return bind.host.includes(':') ? `[${bind.host}]:${bind.port}` : `${bind.host}:${bind.port}`;
  }
}

/** The argument for net.Server#listen / http.Server#listen. */
export function listenOptions(bind: Bind): ListenOptions {
  switch (bind.kind) {
    case 'unix': return { path: bind.path };
    case 'fd': return { fd: bind.fd } as ListenOptions;
    case 'tcp': return { host: bind.host, port: bind.port };
  }
}
