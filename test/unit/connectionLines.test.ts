/** ConnectionLines: per-connection log lines up to a rate, the rest counted in one line. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConnectionLines } from '../../src/core/connectionLines';
import { Log } from '../../src/core/log';

function logged(level: 'info' | 'debug1' | 'debug2'): { log: Log; texts: string[] } {
  const log = new Log(level);
  const texts: string[] = [];
  log.onLine((l) => texts.push(l.text));
  return { log, texts };
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ConnectionLines', () => {
  test('the first N of a window are admitted; the rest are counted in one line when it ends; then it starts over', async () => {
    const { log, texts } = logged('debug1');
    const lines = new ConnectionLines(log, () => 'Port 9999', 3, 100);
    assert.deepEqual(Array.from({ length: 10 }, () => lines.admit()), [true, true, true, false, false, false, false, false, false, false]);
    assert.deepEqual(texts, []);
    await wait(200);
    assert.deepEqual(texts, ['debug1: Port 9999: 7 more connections in the last 100 ms, not logged one by one (only the first 3 are; the log level Debug logs every connection).']);
    assert.equal(lines.admit(), true, 'a new window logs again');
    lines.dispose();
  });

  test('one skipped connection is counted in the singular; dispose says it at once, naming the time the window really lasted', async () => {
    const { log, texts } = logged('debug1');
    const lines = new ConnectionLines(log, () => 'Port 1', 1, 60_000);
    assert.equal(lines.admit(), true);
    assert.equal(lines.admit(), false);
    await wait(50);
    lines.dispose();
    assert.equal(texts.length, 1);
    const m = /^debug1: Port 1: 1 more connection in the last (\d+) ms, not logged one by one \(only the first 1 are; the log level Debug logs every connection\)\.$/.exec(texts[0]);
    assert.ok(m, texts[0]);
    assert.ok(+m[1] >= 45 && +m[1] < 1000, `the window lasted ~50 ms, the line says ${m[1]} ms`);
  });

  test('a full window is named in seconds', async () => {
    const { log, texts } = logged('debug1');
    const lines = new ConnectionLines(log, () => 'Port 4', 1, 1000);
    lines.admit();
    lines.admit();
    lines.admit();
    await wait(1100);
    assert.deepEqual(texts, ['debug1: Port 4: 2 more connections in the last 1.0 s, not logged one by one (only the first 1 are; the log level Debug logs every connection).']);
    lines.dispose();
  });

  test('at debug2 every connection is admitted; below debug1 none, and nothing is said', async () => {
    const debug = logged('debug2');
    const all = new ConnectionLines(debug.log, () => 'Port 2', 2, 50);
    assert.ok(Array.from({ length: 20 }, () => all.admit()).every(Boolean));
    const quiet = logged('info');
    const none = new ConnectionLines(quiet.log, () => 'Port 3', 2, 50);
    assert.ok(Array.from({ length: 20 }, () => none.admit()).every((x) => !x));
    await wait(100);
    assert.deepEqual([...debug.texts, ...quiet.texts], []);
  });
});
