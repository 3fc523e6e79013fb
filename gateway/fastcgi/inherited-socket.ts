/**
 * Is an inherited file descriptor a listening socket? That is the whole of
 * FastCGI's process-start protocol (spec 2.2): mod_fcgid, lighttpd's
 * bin-path, spawn-fcgi and supervisord's fcgi-program put one on fd 0. A CGI
 * script's fd 0 is a pipe, a file, or (under Apache's mod_cgid) a CONNECTED
 * unix socket.
 *
 * flup asks getpeername(): ENOTCONN means listening. Node has no getpeername
 * on a bare fd, and simply trying listen({fd: 0}) is no test either: when it
 * fails, Node closes the handle and with it fd 0, the CGI request body. So
 * the answer comes from the kernel's socket tables: /proc/net/unix marks
 * listening sockets with __SO_ACCEPTCON, /proc/net/tcp{,6} with state 0A.
 */
import { fstatSync, readFileSync } from 'node:fs';

export type InheritedFd = 'listening-socket' | 'connected-socket' | 'not-a-socket';

/** __SO_ACCEPTCON in /proc/net/unix's Flags column. */
const UNIX_ACCEPTCON = 0x10000;
const TCP_LISTEN = '0A';

function readProc(path: string): string[] | null {
  try {
    return readFileSync(path, 'latin1').split('\n').slice(1);
  } catch {
    return null;
  }
}

/** true / false when the inode is in a table, null when no table could be read. */
function listeningInProc(inode: number): boolean | null {
  const wanted = String(inode);
  let readAny = false;
  const unix = readProc('/proc/net/unix');
  if (unix) {
    readAny = true;
    for (const line of unix) {
      // Num RefCount Protocol Flags Type St Inode Path
      const fields = line.trim().split(/\s+/);
      if (fields[6] === wanted) return (Number.parseInt(fields[3] ?? '0', 16) & UNIX_ACCEPTCON) !== 0;
    }
  }
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const lines = readProc(table);
    if (!lines) continue;
    readAny = true;
    for (const line of lines) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      const fields = line.trim().split(/\s+/);
      if (fields[9] === wanted) return fields[3] === TCP_LISTEN;
    }
  }
  return readAny ? false : null;
}

export function inspectInheritedFd(fd: number, env: NodeJS.ProcessEnv = process.env): InheritedFd {
  let stat;
  try {
    stat = fstatSync(fd);
  } catch {
    return 'not-a-socket';
  }
  if (!stat.isSocket()) return 'not-a-socket';
  const listening = listeningInProc(stat.ino);
  if (listening !== null) return listening ? 'listening-socket' : 'connected-socket';
  // No /proc (not Linux): every CGI server sets GATEWAY_INTERFACE, FastCGI process managers don't.
  return env.GATEWAY_INTERFACE ? 'connected-socket' : 'listening-socket';
}
