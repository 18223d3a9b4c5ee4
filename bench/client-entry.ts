/**
 * What the extension host's thread loads since the engine runs in a worker: EngineClient (and the
 * Log it talks to). bench/build.mjs bundles it like dist/extension.js, without the UI.
 */
export { EngineClient } from '../src/core/worker/engineClient';
export { Log } from '../src/core/log';
