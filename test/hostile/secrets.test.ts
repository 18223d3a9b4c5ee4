/**
 * Secrets never leave the prompt: with a known test password (TEST_PASSWORD) and key passphrase,
 * through successful and failed logins, reconnects and errors, at the most verbose log level
 * (ssh2's own debug lines included), scan every log line, every snapshot the UI would show or save
 * (JSON), every error message and every file the engine wrote for them — in plain text, base64 and
 * hex.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { eventually, makeEngine, type Engine } from '../fixtures/engine';
import { recordFigures } from '../fixtures/figures';
import { echoThrough, startEchoServer, type TestServer } from '../fixtures/servers';
import { KEY_PASSPHRASE, TEST_PASSWORD, freePort, startSshd, type Sshd } from '../fixtures/sshd';

const figures = recordFigures();
const WRONG = ['Wrong-pw-a9d1', 'Wrong-pw-b2e7', 'Wrong-pp-c3f5'];
const SECRETS = [TEST_PASSWORD, KEY_PASSPHRASE, ...WRONG];

let echo: TestServer;
let keySshd: Sshd; // keys (the passphrased one), keyboard-interactive, password
let pwSshd: Sshd; // password only
const corpus: { where: string; text: string }[] = [];
const engines: Engine[] = [];

before(async () => {
  [echo, keySshd, pwSshd] = await Promise.all([
    startEchoServer(),
    startSshd({ authorizeClientKey: false }),
    startSshd({ extraConfig: ['KbdInteractiveAuthentication no'], authorizeClientKey: false, authorizePassphrasedKey: false }),
  ]);
});
after(async () => {
  for (const e of engines) await e.dispose().catch(() => undefined);
  await Promise.all([keySshd?.dispose(), pwSshd?.dispose(), echo?.close()]);
});

/** A verbose engine whose every snapshot and error is kept for the scan. */
function watched(sshd: Sshd, opts: Parameters<typeof makeEngine>[1]): Engine {
  const engine = makeEngine(sshd, opts);
  engine.log.level = 'debug3';
  engine.manager.onDidChange((snap) => corpus.push({ where: 'snapshot', text: JSON.stringify(snap) }));
  engines.push(engine);
  return engine;
}

async function run(engine: Engine, spec: string): Promise<void> {
  try {
    const snap = await engine.manager.addForward({ host: 'fixture', spec });
    corpus.push({ where: 'addForward result', text: JSON.stringify(snap) });
    if (snap.error) corpus.push({ where: 'error message', text: snap.error });
    if (snap.state === 'listening' && snap.kind === 'local') {
      assert.equal((await echoThrough(snap.listenPort!, Buffer.from('hello'))).toString(), 'hello');
    }
  } catch (err) {
    corpus.push({ where: 'thrown error', text: `${(err as Error).message}\n${(err as Error).stack ?? ''}` });
  }
}

function forms(secret: string): string[] {
  const b = Buffer.from(secret);
  return [secret, b.toString('base64').replace(/=+$/, ''), b.toString('hex'), encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)];
}

describe('secrets never reach logs, snapshots, error messages or files', () => {
  test('scenarios: password (wrong, then right), keyboard-interactive, passphrase (wrong, then right), reconnect, failure', async () => {
    // Password, first wrong, then right; then a reconnect asks again.
    const pw = watched(pwSshd, { entry: { identityFile: path.join(pwSshd.dir, 'none') }, answers: { passwords: [WRONG[0], TEST_PASSWORD, TEST_PASSWORD, TEST_PASSWORD] } });
    await run(pw, `-L ${await freePort()}:127.0.0.1:${echo.port}`);
    await pwSshd.restart();
    await eventually('reconnected with the password again', () => pw.manager.snapshot().hosts[0].forwards.every((f) => f.state === 'listening') && pw.prompter.calls.length >= 3, 30_000);
    figures.fault();
    // Keyboard-interactive (PAM).
    const kbd = watched(keySshd, { entry: { identityFile: path.join(keySshd.dir, 'none') }, answers: { keyboardInteractive: [[TEST_PASSWORD]] } });
    await run(kbd, `-D ${await freePort()}`);
    // Passphrase, first wrong, then right.
    const pp = watched(keySshd, { entry: { identityFile: keySshd.clientKeyPassphrased }, answers: { passphrases: [WRONG[2], KEY_PASSPHRASE] } });
    await run(pp, `-R ${await freePort()}:127.0.0.1:${echo.port}`);
    // Every password wrong: the failure message.
    const bad = watched(pwSshd, { entry: { identityFile: path.join(pwSshd.dir, 'none') }, answers: { passwords: [WRONG[0], WRONG[1], WRONG[0]] } });
    await run(bad, `-L ${await freePort()}:127.0.0.1:${echo.port}`);
    // The right secret given for the wrong thing (a password where the server wants none of it).
    const odd = watched(keySshd, { entry: { identityFile: keySshd.clientKeyPassphrased }, answers: { passphrases: [TEST_PASSWORD, WRONG[1], KEY_PASSPHRASE] } });
    await run(odd, `-L ${await freePort()}:127.0.0.1:${echo.port}`);
    for (const e of [pw, kbd, pp, bad, odd]) {
      assert.ok(e.prompter.calls.length > 0, 'each scenario asked for a secret');
      for (const l of e.lines) corpus.push({ where: `log (${l.level})`, text: l.text });
      for (const h of e.manager.snapshot().hosts) {
        if (h.error) corpus.push({ where: 'host error', text: h.error });
        for (const f of h.forwards) {
          if (f.error) corpus.push({ where: 'forward error', text: f.error });
          if (f.lastConnectionError) corpus.push({ where: 'connection error', text: f.lastConnectionError });
        }
      }
      corpus.push({ where: 'prompt requests', text: JSON.stringify(e.prompter.calls) });
      // Files the engine wrote (known_hosts and anything else under its home).
      const walk = (dir: string): void => {
        for (const name of fs.readdirSync(dir)) {
          const p = path.join(dir, name);
          if (fs.statSync(p).isDirectory()) walk(p);
          else corpus.push({ where: `file ${name}`, text: fs.readFileSync(p, 'latin1') });
        }
      };
      walk(e.dir);
    }
    assert.ok(corpus.some((c) => c.where.startsWith('log (debug3)')), 'ssh2 debug lines were included');
    assert.match(bad.manager.snapshot().hosts[0].forwards[0].error ?? '', /Permission denied/);
  });

  test('scan: no secret in any form anywhere', () => {
    const hits: string[] = [];
    for (const c of corpus) {
      for (const s of SECRETS) {
        for (const f of forms(s)) if (c.text.includes(f)) hits.push(`${c.where}: contains ${f === s ? 'the secret' : `an encoding of it (${f})`}: ${c.text.slice(0, 200)}`);
      }
    }
    figures.note('secrets scan: texts scanned', corpus.length);
    figures.note('secrets scan: characters scanned', corpus.reduce((n, c) => n + c.text.length, 0));
    figures.leak('secret found in output', hits.length);
    assert.deepEqual(hits, []);
  });
});
