/**
 * Long-running transports stop the same way: SIGTERM (what mod_fcgid,
 * lighttpd, supervisord, docker and Kubernetes send) or SIGINT runs the
 * graceful stop (./graceful-stop.ts), then the process exits: 0 when every
 * request in flight finished, 1 when some had to be dropped at the deadline.
 */
import type { GracefulStopResult } from './graceful-stop.ts';
import type { Logger } from './logger.ts';

export function stopOnSignals(stop: () => Promise<GracefulStopResult>, logger?: Logger): void {
  const onSignal = (): void => {
    void stop().then(({ dropped }) => {
      // The rate limiter's pending summaries: this process has no later window.
      logger?.flush();
      process.exit(dropped === 0 ? 0 : 1);
    });
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}
