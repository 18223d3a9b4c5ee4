/**
 * Where Node lacks what handleSocket.ts drives (its stream_wrap or tcp_wrap binding gone or
 * changed — an Electron we have not run, a future Node), -L and -D take their connections as
 * net.Sockets piped to the channel, as before changes 29 and 31, and -R connects net.Sockets to its
 * targets, as before change 30. This process plays such a Node: `process.binding` is removed before the engine first
 * looks. The same shapes as acceptedHandles.test.ts must hold, and the log must say which path
 * each kind of forward took, once.
 */
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { describe, test } from 'node:test';
import { eventually, useEngine } from '../fixtures/engine';
import { forwardShapes } from '../fixtures/forwardShapes';
import { freePort } from '../fixtures/sshd';
import { handleConnects, handleSockets } from '../../src/core/handleSocket';

(process as { binding?: unknown }).binding = undefined;

const suite = useEngine();

describe('-L, -D and -R connections as net.Sockets where Node lacks the handle API', () => {
  test('the fallback is taken and logged once per kind, however many forwards there are', async () => {
    assert.equal(handleSockets(), undefined);
    assert.equal(handleConnects(), false);
    const ids: string[] = [];
    for (const kind of ['L', 'L', 'D', 'R', 'R']) {
      const port = await freePort();
      const spec = kind === 'D' ? `-D ${port}` : `-${kind} ${port}:127.0.0.1:${await freePort()}`;
      const snap = await suite.engine.manager.addForward({ host: 'fixture', spec });
      assert.equal(snap.state, 'listening', snap.error);
      ids.push(snap.id);
      if (kind === 'R') {
        // -R finds out when it first connects to its target (here: nothing listens there).
        const s = net.connect({ port, host: '127.0.0.1' });
        s.on('error', () => undefined);
        s.resume();
        await eventually('the connection failed', () => suite.engine.manager.forwardSnapshot(snap.id).lastConnectionError);
        s.destroy();
      }
    }
    const said = suite.engine.lines.filter((l) => l.text.includes('lacks the TCP handle API'));
    assert.deepEqual(said.map((l) => l.text), [
      `debug1: Node ${process.version} lacks the TCP handle API that local and dynamic forwards use for their connections; ` +
        'they take them as net.Sockets instead (the same bytes, more CPU per connection).',
      `debug1: Node ${process.version} lacks the TCP handle API that remote forwards use to connect to their targets; ` +
        'they connect net.Sockets instead (the same bytes, more CPU per connection).',
    ]);
    for (const id of ids) await suite.engine.manager.removeForward(id);
  });

  describe('-L', () => forwardShapes(suite, 'L'));
  describe('-D', () => forwardShapes(suite, 'D'));
  describe('-R', () => forwardShapes(suite, 'R'));
});
