/** Entry point of the engine worker bundle (e.g. dist/engineWorker.js): see EngineClient. */
import { parentPort, workerData } from 'node:worker_threads';
import { startEngineWorker, type Port } from './engineWorker';
import type { WorkerInit } from './protocol';

if (!parentPort) throw new Error('engineWorker must run in a worker thread (see EngineClient).');
const port = parentPort;
startEngineWorker(port as unknown as Port, workerData as WorkerInit, () => port.close());
