/**
 * Makes ssh2's optional native helpers unresolvable in this process, as they are in the packaged
 * extension (the VSIX ships no node_modules and esbuild leaves `*.node` and `cpu-features`
 * external): ssh2 then runs its pure-JS crypto, as shipped. Import this before anything loads ssh2.
 *
 * BENCH_NATIVE_DIR=dir lets a bundle under dir load them — a measurement of what ssh2's native
 * addon would give (bench/FINDINGS.md, "With ssh2's native addon"), never what ships.
 */
import Module from 'node:module';

const M = Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string };
const resolve = M._resolveFilename;
const nativeDir = process.env.BENCH_NATIVE_DIR;
M._resolveFilename = function (request: string, ...rest: unknown[]): string {
  const parent = rest[0] as { filename?: string } | undefined;
  const allowed = nativeDir !== undefined && nativeDir !== '' && parent?.filename?.startsWith(nativeDir + '/') === true;
  if (!allowed && (request === 'cpu-features' || request.endsWith('.node'))) {
    const err = new Error(`Cannot find module '${request}' (blocked: not shipped in the VSIX)`) as Error & { code: string };
    err.code = 'MODULE_NOT_FOUND';
    throw err;
  }
  return resolve.call(this, request, ...rest);
};
