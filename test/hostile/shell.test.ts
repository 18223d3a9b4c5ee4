/**
 * Host names, users, paths and commands from the ssh config (and typed destinations) never pass
 * through a shell, and nothing is ever run: a config full of `$(...)`, backticks, `;`, `|`, `&&`
 * and command keywords (ProxyCommand, Match exec, LocalCommand, KnownHostsCommand, RemoteCommand)
 * must leave no marker file, spawn no process, and end in a clear message.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeEngine, type Engine } from '../fixtures/engine';
import { recordFigures } from '../fixtures/figures';
import { startEchoServer, type TestServer } from '../fixtures/servers';
import { freePort, sshConfigEntryFor, startSshd, type SshConfigEntry, type Sshd } from '../fixtures/sshd';
import { delay } from '../faults/util';

// The module object itself (not a namespace copy), so that the spy below is what every caller gets.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const childProcess = require('node:child_process') as Record<string, unknown>;

const figures = recordFigures();
const tag = randomBytes(4).toString('hex');
const markers: string[] = [];
function marker(n: number): string {
  const m = `/tmp/pwned-${tag}-${n}`;
  markers.push(m);
  return m;
}

let echo: TestServer;
let sshd: Sshd;
let engine: Engine;
/** Host alias → what its message must say. */
const cases: { alias: string; entry: Partial<SshConfigEntry>; expect: RegExp }[] = [];

/** child_process calls made while the engine runs (it must make none). */
const spawned: string[] = [];
const originals = new Map<string, unknown>();

before(async () => {
  // Keys only: a refused user ends in "Permission denied" at once, with no question to answer.
  [echo, sshd] = await Promise.all([startEchoServer(), startSshd({ extraConfig: ['PasswordAuthentication no', 'KbdInteractiveAuthentication no'] })]);
  const unresolvable = /Could not resolve hostname .*(pwned|touch)|connect to host .*(pwned|touch)|Name or service not known|getaddrinfo/;
  const add = (entry: Partial<SshConfigEntry>, expect: RegExp): void => {
    cases.push({ alias: `evil${cases.length}`, entry, expect });
  };
  add({ hostName: `$(touch ${marker(1)})` }, unresolvable);
  add({ hostName: `\`touch ${marker(2)}\`` }, unresolvable);
  add({ hostName: `127.0.0.1;touch ${marker(3)}` }, unresolvable);
  add({ hostName: `127.0.0.1 && touch ${marker(4)}` }, /extra arguments|Could not resolve hostname|Bad/);
  add({ hostName: `127.0.0.1|touch ${marker(5)}` }, unresolvable);
  add({ user: `x;touch ${marker(6)}` }, /x;touch .*: Permission denied/);
  add({ user: `$(touch ${marker(7)})` }, /\$\(touch .*\)@127\.0\.0\.1: Permission denied/);
  add({ user: `\`touch ${marker(8)}\`` }, /Permission denied/);
  add({ identityFile: `~/.ssh/id;touch ${marker(9)}` }, /Permission denied[\s\S]*Tried: nothing[\s\S]*Not offered: \S*\/\.ssh\/id;touch \/tmp\/pwned-\w+-9 \(no such file\)/);
  add({ identityFile: `$(touch ${marker(10)})` }, /Permission denied[\s\S]*Not offered: \$\(touch \/tmp\/pwned-\w+-10\) \(no such file\)/);
  add({ identityFile: `\`touch ${marker(11)}\`` }, /Permission denied[\s\S]*Not offered: `touch \/tmp\/pwned-\w+-11` \(no such file\)/);
  add({ proxyCommand: `touch ${marker(12)}` }, /ProxyCommand is set for .* never runs commands through a shell\. Use ProxyJump/);
  add({ proxyCommand: `sh -c 'touch ${marker(13)}'` }, /never runs commands through a shell/);
  add({ proxyJump: `$(touch ${marker(14)})` }, /Invalid ProxyJump .* does not connect to evil\d+ while an option that applies to it is bad/);
  add({ extra: ['IdentityAgent none', `LocalCommand touch ${marker(15)}`, 'PermitLocalCommand yes'] }, /^$/);
  add({ extra: ['IdentityAgent none', `KnownHostsCommand /usr/bin/touch ${marker(16)}`] }, /^$/);
  add({ extra: ['IdentityAgent none', `RemoteCommand touch ${marker(17)}`] }, /^$/);
  add({ userKnownHostsFile: `/tmp/kh;touch ${marker(18)}` }, /No .* host key is known/);
  add({ extra: [`IdentityAgent $(touch ${marker(19)})`] }, /keyword IdentityAgent extra arguments at end of line: .* does not connect to evil\d+/);
  add({ extra: ['IdentityAgent none', `SetEnv X=$(touch ${marker(20)})`, `SendEnv $(touch ${marker(21)})`] }, /^$/);
  const entries: SshConfigEntry[] = cases.map((c) => sshConfigEntryFor(sshd, c.alias, { extra: ['IdentityAgent none'], ...c.entry }));
  engine = makeEngine(sshd, { extraEntries: entries });
  // Blocks that must never run anything, appended raw (Match exec, Include of a command).
  fs.appendFileSync(engine.configFile, [
    `Match exec "touch ${marker(22)}"`,
    '  User nobody',
    `Match exec "$(touch ${marker(23)})" host *`,
    '  User nobody',
    `Include "$(touch ${marker(24)})"`,
    `Include \`touch ${marker(25)}\``,
    '',
  ].join('\n'));
  engine.manager.reloadConfig();
  // Spy on child_process from here on: the fixture sshd is up already.
  for (const name of ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork'] as const) {
    const original = childProcess[name];
    originals.set(name, original);
    childProcess[name] = (...args: unknown[]) => {
      spawned.push(`${name} ${String(args[0])}`);
      return (original as (...a: unknown[]) => unknown)(...args);
    };
  }
});

after(async () => {
  for (const [name, fn] of originals) childProcess[name] = fn;
  await engine?.dispose();
  await Promise.all([sshd?.dispose(), echo?.close()]);
  for (const m of markers) fs.rmSync(m, { force: true });
});

describe('nothing from the ssh config passes through a shell', () => {
  test('hostile HostName, User, IdentityFile, ProxyCommand, ProxyJump, *Command, Include, Match exec: no marker, no process, a clear message', async () => {
    const problems = engine.manager.configProblems().map((p) => p.message).join('\n');
    assert.match(problems, /Match exec is not evaluated \(nothing is ever run\)/);
    for (const c of cases) {
      let message = '';
      try {
        const snap = await engine.manager.addForward({ host: c.alias, spec: `-L ${await freePort()}:127.0.0.1:${echo.port}` });
        message = snap.error ?? '';
        await engine.manager.removeForward(snap.id);
      } catch (err) {
        message = (err as Error).message;
      }
      assert.match(message, c.expect, `${c.alias} ${JSON.stringify(c.entry)}`);
      figures.badInputs();
    }
    // Typed destinations, not from the config.
    for (const dest of [`$(touch ${marker(26)})`, `x;touch ${marker(27)}@127.0.0.1`, `\`touch ${marker(28)}\`@127.0.0.1`, `127.0.0.1;touch ${marker(29)}`]) {
      let message = '';
      try {
        const snap = await engine.manager.addForward({ host: dest, spec: `-L ${await freePort()}:127.0.0.1:${echo.port}` });
        message = snap.error ?? '';
        await engine.manager.removeForward(snap.id);
      } catch (err) {
        message = (err as Error).message;
      }
      assert.match(message, /\S/, `${dest}: some message`);
      assert.ok(message.includes('touch'), `${dest}: the message names what was given: ${message}`);
      figures.badInputs();
    }
    await delay(500);
    const found = markers.filter((m) => fs.existsSync(m));
    figures.leak('marker file created (a command ran)', found.length);
    assert.deepEqual(found, [], 'no marker file appeared');
    assert.deepEqual(spawned, [], 'no process was started');
    figures.note('shell: hostile config values and destinations tried', cases.length + 4 + 4);
  });
});
