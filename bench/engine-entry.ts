/**
 * The engine as the extension ships it, without VS Code: bench/build.mjs bundles this file with the
 * same esbuild options and externals as esbuild.config.mjs (so ssh2 runs its pure-JS crypto).
 */
export { TunnelManager } from '../src/core/tunnelManager';
export { Log } from '../src/core/log';
