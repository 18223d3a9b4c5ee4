/**
 * Fault: the user cancels a keyboard-interactive question (PAM's "Password:"). We answer sshd with
 * no replies, and sshd hangs up at once ("wrong number of replies") instead of failing the method.
 * That must end as "cancelled" — not as a lost connection that is retried, asking the user the same
 * question again every few seconds for ever.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { makeEngine } from '../fixtures/engine';
import { recordFigures } from '../fixtures/figures';
import { freePort, startSshd, type Sshd } from '../fixtures/sshd';
import { delay } from './util';

const figures = recordFigures();
let sshd: Sshd;

before(async () => {
  sshd = await startSshd({ extraConfig: ['PasswordAuthentication no'], authorizeClientKey: false, authorizePassphrasedKey: false });
});
after(async () => {
  await sshd?.dispose();
});

test('a cancelled keyboard-interactive prompt stops: error "cancelled", asked once, no reconnect loop', async () => {
  const engine = makeEngine(sshd, { entry: { identityFile: path.join(sshd.dir, 'no-such-key') }, answers: { keyboardInteractive: [] } });
  try {
    const offset = sshd.log().length;
    const snap = await engine.manager.addForward({ host: 'fixture', spec: `-L ${await freePort()}:127.0.0.1:9` });
    assert.equal(snap.state, 'error', snap.error);
    assert.match(snap.error!, /Authentication to sshtunnels-test@127\.0\.0\.1 was cancelled\./);
    await delay(2000); // several backoff periods (200 ms doubling) for a retry to show up, if any
    assert.deepEqual(engine.prompter.kinds(), ['keyboardInteractive'], 'asked exactly once');
    const connections = sshd.log().slice(offset).split('\n').filter((l) => /^Connection from /.test(l));
    assert.equal(connections.length, 1, 'one connection, no retry');
    assert.equal(engine.manager.snapshot().hosts[0].nextAttemptAt, undefined);
    figures.fault();
  } finally {
    await engine.dispose();
  }
});
