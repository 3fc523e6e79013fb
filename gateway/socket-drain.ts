/**
 * Waiting for a socket to take more data: the backpressure of every streamed
 * response. One promise per socket, shared by whoever waits on it, and a
 * socket that closes instead of draining releases its waiters too (a 'drain'
 * that never comes must not hang a response).
 */
import type { Socket } from 'node:net';

export class SocketDrain {
  readonly #socket: Socket;
  #pending: Promise<void> | null = null;

  constructor(socket: Socket) {
    this.#socket = socket;
  }

  /** Resolves at once if nothing is queued over the high-water mark. */
  wait(): Promise<void> {
    const socket = this.#socket;
    if (!socket.writableNeedDrain || socket.destroyed) return Promise.resolve();
    this.#pending ??= new Promise<void>((resolve) => {
      const done = (): void => {
        socket.off('drain', done);
        socket.off('close', done);
        this.#pending = null;
        resolve();
      };
      socket.on('drain', done);
      socket.on('close', done);
    });
    return this.#pending;
  }
}
