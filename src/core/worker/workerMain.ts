/** Entry point of the engine worker bundle (e.g. dist/engineWorker.js): see EngineClient. */
import { parentPort, workerData } from 'node:worker_threads';
import { runEngineWorker, type Port } from './engineWorker';
import type { WorkerInit } from './protocol';

if (!parentPort) throw new Error('engineWorker must run in a worker thread (see EngineClient).');
runEngineWorker(parentPort as unknown as Port & { close(): void }, workerData as WorkerInit);
