/**
 * What the transports log about a client or web server connection: who it
 * is, and which socket errors are worth a line. The same words in FastCGI and
 * HTTP, so that a log reads alike whichever transport wrote it.
 */
import type { Socket } from 'node:net';
import type { Logger } from './logger.ts';

/** "10.0.0.1:51234", or "on unix socket" (a unix socket has no remote address). */
export function peerName(socket: Socket): string {
  const { remoteAddress, remotePort } = socket;
  return remoteAddress ? `${remoteAddress}:${remotePort}` : 'on unix socket';
}

/**
 * Logs the socket's errors, rate-limited, under `what` ("fastcgi: connection").
 * A peer that hangs up (ECONNRESET, EPIPE) is routine and not logged; the
 * listener also keeps an error from crashing the process.
 */
export function logSocketErrors(socket: Socket, logger: Logger, what: string): void {
  socket.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'ECONNRESET' && error.code !== 'EPIPE') {
      logger.limited('connection-error', () => `${what} ${peerName(socket)}: ${error.message}`);
    }
  });
}
