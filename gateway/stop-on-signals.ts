/**
 * Long-running transports stop the same way: SIGTERM (what mod_fcgid,
 * lighttpd, supervisord and docker send) or SIGINT closes the server, letting
 * requests in flight finish, and then the process exits.
 */
export function stopOnSignals(close: () => Promise<void>): void {
  const stop = (): void => {
    void close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
