/**
 * Where a blocked worker is stuck, for the log before the master kills it.
 *
 * gunicorn sends a timed-out worker SIGABRT and its handler prints the
 * traceback. A Node signal handler is JavaScript, and JavaScript cannot run
 * while the event loop is blocked: `--report-on-signal` (also a JS handler)
 * writes its report only after the loop is free again, and by then the stack
 * is the handler's own. What does reach a busy main thread is the inspector:
 * its messages are dispatched through V8 interrupts, which a `while (true)`
 * still services. So each worker runs a small thread (stackReporterThread)
 * holding an inspector session on the main thread, connected at start (a
 * session cannot be connected while the main thread is blocked; no domain is
 * enabled until asked, so the request path is untouched). When the master
 * asks on the worker's stack channel, the thread pauses the main thread and
 * sends its frames back. No inspector port is opened: nothing outside the
 * worker can reach the session. The cost is the thread's memory (an isolate,
 * about 15 MB of RSS per worker on Node 24), only when a timeout is set.
 *
 * The channel is an extra stdio pipe of the worker (fd STACK_CHANNEL_FD): the
 * master writes ASK_STACK, the thread answers one JSON line, a StackReport.
 */
import { Worker } from 'node:worker_threads';

/** The worker's end of the channel: cluster forks with stdio [0, 1, 2, ipc, pipe]. */
export const STACK_CHANNEL_FD = 4;
export const ASK_STACK = 'stack\n';

/** The thread's answer: the main thread's frames, innermost first, or why there are none. */
export interface StackReport {
  frames: string[];
  error?: string;
}

/** Frames kept: where it is stuck and enough callers to tell which request. */
const MAX_FRAMES = 20;

export interface StackReporter {
  /**
   * Ends the thread before the worker exits: a process that exits with an
   * inspector session still connected prints "Waiting for the debugger to
   * disconnect..." on stderr.
   */
  stop(): Promise<void>;
}

/** Worker side: starts the thread that answers the primary's stack requests. */
export function startStackReporter(fd = STACK_CHANNEL_FD): StackReporter {
  // The thread's code is this module's own function, handed over as source:
  // a .ts file in a thread would load Node's type stripper into that thread
  // too, which doubles its memory (measured: 36 MB of RSS instead of 19).
  const thread = new Worker(`(${stackReporterThread.toString()})(${fd}, ${MAX_FRAMES});`, {
    eval: true,
    // It only formats a few frames: keep its heap small.
    resourceLimits: { maxOldGenerationSizeMb: 8, maxYoungGenerationSizeMb: 1 },
    stdout: false,
    stderr: false,
  });
  // It must never keep a retiring worker alive.
  thread.unref();
  // A reporter that fails only costs the stack in the log, never the worker.
  thread.on('error', () => {});
  return {
    stop: () => thread.terminate().then(() => {}, () => {}),
  };
}

interface CallFrame {
  functionName: string;
  url: string;
  location: { scriptId: string; lineNumber: number; columnNumber: number };
}

/**
 * The reporter thread's whole program. It runs from its source text in a
 * worker_threads Worker, so it uses nothing from this module's scope (only
 * its parameters and process.getBuiltinModule). Its own event loop stays free
 * while the worker's main thread is blocked.
 */
function stackReporterThread(fd: number, maxFrames: number): void {
  const { Session } = process.getBuiltinModule('node:inspector');
  const { Socket } = process.getBuiltinModule('node:net');

  const session = new Session();
  // Now, while the main thread is free: connecting needs it, pausing does not.
  session.connectToMainThread();
  const post = (method: string) =>
    new Promise<void>((resolve, reject) => session.post(method, (error) => (error ? reject(error) : resolve())));

  const scriptUrls = new Map<string, string>();
  session.on('Debugger.scriptParsed', ({ params }) => scriptUrls.set(params.scriptId, params.url));

  const channel = new Socket({ fd, readable: true, writable: true });
  // The primary is gone: nobody to answer.
  channel.on('error', () => channel.destroy());
  channel.on('end', () => channel.destroy());
  const answer = (report: StackReport) => channel.write(`${JSON.stringify(report)}\n`);

  const describe = (frame: CallFrame) => {
    const url = frame.url || scriptUrls.get(frame.location.scriptId) || '<unknown>';
    return `${frame.functionName || '<anonymous>'} (${url}:${frame.location.lineNumber + 1}:${frame.location.columnNumber + 1})`;
  };

  let asking = false;
  session.on('Debugger.paused', ({ params }) => {
    if (!asking) return;
    asking = false;
    answer({ frames: (params.callFrames as CallFrame[]).slice(0, maxFrames).map(describe) });
    // Leave the main thread as it was; the primary kills it next anyway.
    post('Debugger.resume').then(() => post('Debugger.disable')).catch(() => {});
  });

  channel.on('data', () => {
    if (asking) return;
    asking = true;
    // Both reach the blocked main thread through V8 interrupts; it pauses at its next JS instruction.
    post('Debugger.enable')
      .then(() => post('Debugger.pause'))
      .catch((error: Error) => {
        asking = false;
        answer({ frames: [], error: error.message });
      });
  });
}

/** Master side: one line of the channel as a report (a garbled line is reported as such, not thrown). */
export function parseStackReport(line: string): StackReport {
  try {
    const report = JSON.parse(line) as Partial<StackReport>;
    const frames = Array.isArray(report.frames) ? report.frames.filter((f): f is string => typeof f === 'string') : [];
    return { frames, ...(typeof report.error === 'string' && { error: report.error }) };
  } catch {
    return { frames: [], error: `unreadable stack report ${JSON.stringify(line.slice(0, 80))}` };
  }
}
