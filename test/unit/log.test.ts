/** src/core/log.ts: levels filter lines, and level changes are announced (the engine's worker follows them). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Log, type LogLevel, type LogLine } from '../../src/core/log';

describe('Log', () => {
  test('lines above the level are dropped; a change of level is announced once, until disposed', () => {
    const log = new Log('info');
    const lines: LogLine[] = [];
    const levels: LogLevel[] = [];
    log.onLine((l) => lines.push(l));
    const follower = log.onLevel((l) => levels.push(l));
    log.debug1('hidden');
    log.level = 'debug1';
    log.level = 'debug1'; // unchanged: not announced again
    log.debug1('Local forwarding listening on 127.0.0.1 port 9999.');
    follower.dispose();
    log.level = 'error';
    log.info('hidden too');
    assert.deepEqual(levels, ['debug1']);
    assert.deepEqual(lines.map((l) => l.text), ['debug1: Local forwarding listening on 127.0.0.1 port 9999.']);
  });
});
