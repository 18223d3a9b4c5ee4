/**
 * The engine's end of its channel to EngineClient (clientChannel.ts): what the engine sent before
 * it closed the channel arrives, even when far more was sent than the channel holds at once —
 * the reply to `dispose` and the log lines before it are the last things an engine sends.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { startEngineRunner, type EngineEnd, type Isolation } from '../../src/core/worker/engineRunner';
import type { FromWorker, WorkerInit } from '../../src/core/worker/protocol';

const FLOODING_ENGINE = path.join(__dirname, '..', 'fixtures', 'floodingEngine.js');
const MESSAGES = 64;
const BYTES = 65_536; // 64 × 64 KiB: 4 MiB, many times what a socket pair buffers.
// The fixture's knobs; node --test runs this file in a process of its own.
process.env.FLOOD_MESSAGES = String(MESSAGES);
process.env.FLOOD_BYTES = String(BYTES);

for (const isolation of ['process', 'worker'] as Isolation[]) {
  test(`an engine (${isolation}) that sends 4 MiB and closes its channel at once: every message arrives, in order`, async () => {
    const runner = startEngineRunner(isolation, FLOODING_ENGINE, {} as WorkerInit);
    const seen: number[] = [];
    runner.onMessage((m: FromWorker) => {
      if (m.type === 'log') seen.push(Number(m.lines[0]!.text.split(' ', 1)[0]));
    });
    const end = await new Promise<EngineEnd>((resolve) => runner.onEnd(resolve));
    assert.deepEqual(seen, Array.from({ length: MESSAGES }, (_, i) => i));
    // Closing the channel is how the engine ends: by itself, without a crash.
    assert.equal(end.crash, undefined);
    assert.equal(end.code, 0);
  });
}
