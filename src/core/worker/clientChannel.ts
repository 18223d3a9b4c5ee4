/**
 * The engine's end of the channel to EngineClient, wherever EngineClient started it (see
 * engineRunner.ts): in a worker thread (worker_threads' parentPort; the init in workerData) or in
 * a child process (the IPC channel of `fork`; the init is the first message).
 *
 * In a child process the engine must not outlive its client: when the channel closes (the client
 * disposed it, or the extension host is gone, even killed) the process exits, and with it every
 * listener and SSH connection it had.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Port } from './engineWorker';
import type { FromWorker, ToWorker, WorkerInit } from './protocol';

/** Runs `start` once the channel and the init are there. */
export function connectToClient(start: (port: Port & { close(): void }, init: WorkerInit) => void): void {
  if (parentPort) {
    start(parentPort as unknown as Port & { close(): void }, workerData as WorkerInit);
    return;
  }
  if (!process.send) throw new Error('The SSH Tunnels engine must be started by EngineClient (in a worker thread or a child process with an IPC channel).');
  const listeners: Array<(m: ToWorker) => void> = [];
  // Closing the channel cancels the writes still queued on it: the reply to `dispose` (and the log
  // lines before it) would be lost. So it closes once every message sent has been written.
  let unwritten = 0;
  let closing = false;
  const closeWhenWritten = (): void => {
    if (closing && unwritten === 0 && process.connected) process.disconnect();
  };
  const port: Port & { close(): void } = {
    postMessage: (m: FromWorker) => {
      // After the channel closed (the exit handler flushes the log) there is no one to tell.
      if (!process.connected) return;
      unwritten++;
      process.send!(m, undefined, undefined, () => {
        unwritten--;
        closeWhenWritten();
      });
    },
    on: (_event, listener) => listeners.push(listener),
    close: () => {
      closing = true;
      closeWhenWritten();
    },
  };
  process.on('disconnect', () => process.exit(0));
  process.on('message', (m: ToWorker | { type: 'init'; init: WorkerInit }) => {
    if (m.type === 'init') start(port, m.init);
    else for (const l of listeners) l(m);
  });
}
