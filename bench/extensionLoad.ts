/**
 * Our own share of activation, outside VS Code: in a fresh Node process, the time to require
 * dist/extension.js and to call its activate(), with an inert stand-in for the `vscode` module (a
 * plain object with as many top-level names as VS Code's API, whose calls do nothing). VS Code's
 * own figure (bench/lib/activation.ts) includes VS Code's work and swings 2–5× run to run on this
 * box; this isolates the part the extension controls. Prints JSON {requireMs, activateMs, settledMs}:
 * settledMs is activate() plus the work it queued (restoring saved tunnels), until the event loop's
 * next turn. With BENCH_SAVED_TUNNELS (JSON, the `sshTunnels.tunnels` setting) the stand-in's
 * settings hold those saved tunnels; the ssh config read is $HOME/.ssh/config.
 * Usage: node out/bench/extensionLoad.js [path/to/extension.js]
 */
import { performance } from 'node:perf_hooks';
import * as os from 'node:os';
import * as path from 'node:path';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Module = require('node:module') as { _load: (request: string, ...rest: unknown[]) => unknown };

/** Anything: every property, call and construction gives itself back; settings give their defaults. */
const inert: object = new Proxy(function () { /* inert */ }, {
  get: (_t, p) => (p === 'then' ? undefined : p === 'get' ? (_k: string, d: unknown) => d : p === Symbol.toPrimitive ? () => '' : inert),
  apply: () => inert,
  construct: () => inert,
  set: () => true,
  defineProperty: () => true,
});
// VS Code's API object has ~250 top-level names (namespaces, classes, enums); bundlers copy them per import.
const vscode = Object.fromEntries(Array.from({ length: 250 }, (_, i) => [`api${i}`, inert]));
for (const k of ['window', 'commands', 'env', 'Uri', 'LogLevel', 'TreeItem', 'TreeItemCollapsibleState', 'ThemeIcon', 'ThemeColor', 'EventEmitter', 'StatusBarAlignment', 'MarkdownString', 'Disposable']) vscode[k] = inert;
// Settings give their defaults, except the saved tunnels when the run asks for some.
const saved: unknown = process.env.BENCH_SAVED_TUNNELS ? JSON.parse(process.env.BENCH_SAVED_TUNNELS) : undefined;
const settings = new Proxy({}, { get: (_t, p) => (p === 'get' ? (k: string, d: unknown) => (k === 'tunnels' && saved !== undefined ? saved : d) : inert) });
vscode.workspace = new Proxy({}, { get: (_t, p) => (p === 'getConfiguration' ? () => settings : inert) });

// The Node built-ins VS Code's extension host has loaded before it loads any extension: the public
// modules in `process.moduleLoadList` at the top of an extension's main file in code-server 4.139.1
// (2026-11-25). Loading one of these is VS Code's cost, not ours (worker_threads alone is ~4 ms).
const HOST_LOADED = [
  'events', 'util/types', 'buffer', 'diagnostics_channel', 'async_hooks', 'timers', 'path', 'querystring', 'fs',
  'util', 'url', 'string_decoder', 'stream/promises', 'stream', 'net', 'dgram', 'child_process', 'module', 'os',
  'perf_hooks', 'http', 'assert', 'crypto', 'tls', 'http2', 'zlib', 'worker_threads', 'fs/promises', 'console',
  'dns', 'https', 'tty', 'cluster', 'readline/promises', 'readline', 'constants', 'process',
];
for (const m of HOST_LOADED) require(`node:${m}`);

const original = Module._load;
Module._load = function (request: string, ...rest: unknown[]) {
  return request === 'vscode' ? vscode : original.call(this, request, ...rest);
};
const file = path.resolve(process.argv[2] ?? path.join(__dirname, '..', '..', 'dist', 'extension.js'));
const t0 = performance.now();
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ext = require(file) as { activate(ctx: unknown): void };
const t1 = performance.now();
// globalStorageUri: where the engine process would keep its compiled code (no engine starts here).
ext.activate({ subscriptions: [], secrets: inert, globalState: inert, workspaceState: inert, extensionUri: inert, globalStorageUri: { fsPath: path.join(os.tmpdir(), 'bench-extload-storage') }, extensionPath: path.dirname(file), asAbsolutePath: (p: string) => p });
const t2 = performance.now();
setImmediate(() => {
  const t3 = performance.now();
  process.stdout.write(JSON.stringify({ requireMs: t1 - t0, activateMs: t2 - t1, settledMs: t3 - t1 }) + '\n');
  process.exit(0);
});
