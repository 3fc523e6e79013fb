/**
 * A unix socket file outlives a server that was killed (SIGKILL, OOM, a
 * container stopped hard), and listen() then fails with EADDRINUSE. Remove it
 * only when it is provably stale: it is a socket and nobody accepts on it. A
 * live server's socket, or a regular file at that path, is an error instead.
 */
import { lstat, unlink } from 'node:fs/promises';
import { connect } from 'node:net';

function accepting(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ path });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function removeStaleUnixSocket(path: string): Promise<void> {
  let stats;
  try {
    stats = await lstat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (!stats.isSocket()) throw new Error(`cannot listen on unix:${path}: the path exists and is not a socket`);
  if (await accepting(path)) throw new Error(`cannot listen on unix:${path}: it is in use: another server is accepting on it`);
  await unlink(path);
}
