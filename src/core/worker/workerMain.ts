/** Entry point of the engine bundle (dist/engineWorker.js), in a child process or a worker thread: see EngineClient. */
import { connectToClient } from './clientChannel';
import { runEngineWorker } from './engineWorker';

connectToClient(runEngineWorker);
