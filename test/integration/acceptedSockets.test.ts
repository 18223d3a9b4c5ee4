/**
 * Where Node lacks what handleSocket.ts drives (its stream_wrap binding gone or changed — an Electron
 * we have not run, a future Node), -L takes its connections as net.Sockets piped to the channel, as
 * before change 29. This process plays such a Node: `process.binding` is removed before the engine
 * first looks. The same shapes as acceptedHandles.test.ts must hold, and the log must say which
 * path -L took, once. -R's connections to their targets are net.Sockets anyway: the same shapes,
 * with the target as our side.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { useEngine } from '../fixtures/engine';
import { forwardShapes } from '../fixtures/forwardShapes';
import { freePort } from '../fixtures/sshd';
import { handleSockets } from '../../src/core/handleSocket';

(process as { binding?: unknown }).binding = undefined;

const suite = useEngine();

describe('-L connections as net.Sockets where Node lacks the handle API', () => {
  test('the fallback is taken and logged once, however many forwards listen', async () => {
    assert.equal(handleSockets(), undefined);
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const port = await freePort();
      const snap = await suite.engine.manager.addForward({ host: 'fixture', spec: `-L ${port}:127.0.0.1:9` });
      assert.equal(snap.state, 'listening', snap.error);
      ids.push(snap.id);
    }
    const said = suite.engine.lines.filter((l) => l.text.includes('lacks the TCP handle API'));
    assert.deepEqual(said.map((l) => l.text), [
      `debug1: Node ${process.version} lacks the TCP handle API that local forwards use for their connections; ` +
        'they take them as net.Sockets instead (the same bytes, more CPU per connection).',
    ]);
    for (const id of ids) await suite.engine.manager.removeForward(id);
  });

  forwardShapes(suite, 'L');
});

describe('-R connections to their targets as net.Sockets', () => forwardShapes(suite, 'R'));
