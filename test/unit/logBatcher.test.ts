/**
 * The engine worker's log lines over a real MessageChannel: debug lines leave together, in order;
 * lines a user sees without debug output leave at once; no other message overtakes the lines before it.
 */
import assert from 'node:assert/strict';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { afterEach, describe, test } from 'node:test';
import { Log, type LogLine } from '../../src/core/log';
import { LogBatcher } from '../../src/core/worker/logBatcher';
import type { FromWorker } from '../../src/core/worker/protocol';
import { eventually } from '../fixtures/engine';

let channel: MessageChannel;

function setup(delayMs: number): { log: Log; out: LogBatcher; received: FromWorker[]; next: (n: number) => Promise<FromWorker[]> } {
  channel = new MessageChannel();
  const out = new LogBatcher(channel.port1 as MessagePort, delayMs);
  const log = new Log('debug3');
  log.onLine((l) => out.line(l));
  const received: FromWorker[] = [];
  channel.port2.on('message', (m: FromWorker) => received.push(m));
  const next = (n: number): Promise<FromWorker[]> => eventually(`${n} messages`, () => received.length >= n && received, 5000);
  return { log, out, received, next };
}

const texts = (m: FromWorker | undefined): string[] => (m?.type === 'log' ? m.lines.map((l: LogLine) => l.text) : []);

afterEach(() => {
  channel.port1.close();
  channel.port2.close();
});

describe('LogBatcher (worker → extension host log lines)', () => {
  test('debug lines of one burst arrive as one message, in order, after the batch delay', async () => {
    const { log, next } = setup(30);
    for (let i = 0; i < 50; i++) {
      log.debug1(`Connection to port 9999 forwarding to 127.0.0.1 port ${i} requested.`);
      log.debug1(`channel ${i}: new [direct-tcpip] connect from 127.0.0.1 port ${40000 + i}`);
    }
    const [first] = await next(1);
    assert.equal(texts(first).length, 100);
    assert.equal(texts(first)[0], 'debug1: Connection to port 9999 forwarding to 127.0.0.1 port 0 requested.');
    assert.equal(texts(first)[99], 'debug1: channel 49: new [direct-tcpip] connect from 127.0.0.1 port 40049');
  });

  test('an error or info line leaves at once, after the debug lines logged before it', async () => {
    // A delay no test waits for: only the non-debug line can have sent these.
    const { log, next } = setup(60_000);
    log.debug1('channel 3: new [direct-tcpip] connect from 127.0.0.1 port 40003');
    log.info('channel 3: open failed: connect failed: Connection refused');
    const [first] = await next(1);
    assert.deepEqual(texts(first), ['debug1: channel 3: new [direct-tcpip] connect from 127.0.0.1 port 40003', 'channel 3: open failed: connect failed: Connection refused']);
    log.error('Host key verification failed.');
    const all = await next(2);
    assert.deepEqual(texts(all[1]), ['Host key verification failed.']);
  });

  test('a snapshot (as a reply or a prompt) never overtakes the lines logged before it, and nothing waits after it', async () => {
    const { log, out, next } = setup(60_000);
    log.debug1('Local forwarding listening on 127.0.0.1 port 9999.');
    out.post({ type: 'change', snapshot: { hosts: [] } });
    const all = await next(2);
    assert.deepEqual(texts(all[0]), ['debug1: Local forwarding listening on 127.0.0.1 port 9999.']);
    assert.equal(all[1]!.type, 'change');
    out.post({ type: 'change', snapshot: { hosts: [] } });
    assert.equal((await next(3))[2]!.type, 'change', 'no empty log message before the next one');
  });
});
