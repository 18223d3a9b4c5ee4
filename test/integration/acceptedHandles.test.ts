/**
 * -L drives the connections it accepts through their TCP handles (src/core/handleSocket.ts), not
 * net.Sockets. What a net.Socket piped to the channel did must still happen, checked through a real
 * sshd by the shapes in test/fixtures/forwardShapes.ts — and the handle path must be the one
 * the Nodes we run on take, or these would be testing the net.Socket fallback (acceptedSockets.test.ts).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { e2eInstall } from '../e2e/harness';
import { eventually, useEngine } from '../fixtures/engine';
import { forwardHelpers, forwardShapes } from '../fixtures/forwardShapes';
import { handleSockets } from '../../src/core/handleSocket';

const suite = useEngine();
const { withHeldUpload, connectionsOf } = forwardHelpers(suite, 'L');

describe('-L connections on their TCP handles', () => {
  test('the handle path is available on this Node and on code-server\'s', (t) => {
    assert.ok(handleSockets(), `Node ${process.version} lacks what handleSocket.ts drives: -L would fall back to net.Sockets`);
    const node24 = e2eInstall().node24;
    if (!fs.existsSync(node24)) return t.skip(`no ${node24} (bash test/setup.sh installs code-server's Node)`);
    const module = path.join(__dirname, '..', '..', 'src', 'core', 'handleSocket.js');
    const r = spawnSync(node24, ['-e', `process.exit(require(${JSON.stringify(module)}).handleSockets() ? 0 : 3)`], { encoding: 'utf8' });
    assert.equal(r.status, 0, `code-server's Node: ${r.stderr || 'handleSockets() returned undefined'}`);
  });

  forwardShapes(suite, 'L');

  test('a client that resets while its upload is held back: the half-close that fails closes the connection', async () => {
    // The target reads nothing; the client sends 32 MiB and resets once the engine has stopped
    // reading it (the channel is full), with nothing queued to it. The target then finishes its
    // side: passing that on as a half-close to the reset client fails, and only that can tell the
    // engine. Handles only: a net.Socket ignores how its shutdown ended (Node's afterShutdown), so
    // on that path such a connection stays until the target reads again and the read sees the reset.
    await withHeldUpload(randomBytes(32 * 1024 * 1024), false, async ({ fwd, client, sink }) => {
      client.resetAndDestroy();
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(connectionsOf(fwd.id), 1, 'nothing should have told the engine of the reset yet');
      sink.end();
      await eventually('the connection is no longer listed', () => connectionsOf(fwd.id) === 0);
    });
  });
});
