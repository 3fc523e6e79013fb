/**
 * The file node:cluster runs in each pre-fork worker (./prefork.ts sets it as
 * `exec`): reads the configuration the primary put in the environment and
 * starts ./worker.ts. Run any other way, it says so and exits.
 */
import cluster from 'node:cluster';
import { runWorker, WORKER_CONFIG_ENV, type WorkerConfig } from './worker.ts';

const config = process.env[WORKER_CONFIG_ENV];
if (!cluster.isWorker || !config) {
  process.stderr.write('worker-entry.ts is started by the pre-fork master (tsgi http --workers N), not by hand\n');
  process.exit(2);
}
void runWorker(JSON.parse(config) as WorkerConfig);
