/**
 * A bad value for an option that applies to the host must stop the connection with a message naming
 * the file, line and problem — like ssh, which refuses to run — and never be skipped silently: a
 * malformed ProxyJump skipped would connect directly, bypassing the jump host; a bad Port skipped
 * would connect to port 22. Checked on the server: no connection reaches sshd at all.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { makeEngine, type Engine } from '../fixtures/engine';
import { recordFigures } from '../fixtures/figures';
import { freePort, sshConfigEntryFor, startSshd, type Sshd } from '../fixtures/sshd';
import { delay } from '../faults/util';

const figures = recordFigures();
let sshd: Sshd;
let engine: Engine;

const BAD: { alias: string; lines: string[]; expect: RegExp }[] = [
  { alias: 'jump-empty-hop', lines: ['ProxyJump bastion,,other'], expect: /Invalid ProxyJump "bastion,,other": empty hop\./ },
  { alias: 'jump-no-host', lines: ['ProxyJump user@:22'], expect: /Invalid ProxyJump "user@:22": hop "user@:22": missing host name/ },
  { alias: 'jump-shell', lines: ['ProxyJump "$(touch /tmp/x)"'], expect: /Invalid ProxyJump .* contains invalid characters/ },
  { alias: 'bad-port', lines: ['Port 22x'], expect: /Bad port '22x'/ },
  { alias: 'bad-strict', lines: ['StrictHostKeyChecking yse'], expect: /StrictHostKeyChecking: unsupported option "yse"/ },
  { alias: 'bad-alive', lines: ['ServerAliveInterval soon'], expect: /ServerAliveInterval: invalid time value "soon"/ },
  { alias: 'bad-forward', lines: ['LocalForward 99999 db:5432'], expect: /Bad forwarding specification in LocalForward/ },
];

before(async () => {
  sshd = await startSshd();
  engine = makeEngine(sshd, {
    // Options come first in each block, so they win over the fixture's (first value wins).
    extraEntries: BAD.map((b) => sshConfigEntryFor(sshd, b.alias, { extra: ['IdentityAgent none'] })),
  });
  // Put each bad line right after its Host line: first value wins, so it is the one that applies.
  let text = (await import('node:fs')).readFileSync(engine.configFile, 'utf8');
  for (const b of BAD) text = text.replace(`Host ${b.alias}\n`, `Host ${b.alias}\n  ${b.lines.join('\n  ')}\n`);
  (await import('node:fs')).writeFileSync(engine.configFile, text);
  engine.manager.reloadConfig();
});
after(async () => {
  await engine?.dispose();
  await sshd?.dispose();
});

describe('a bad option that applies stops the connection (never skipped silently)', () => {
  test(`${BAD.length} bad options: error naming file, line and problem; no connection reaches the server`, async () => {
    const offset = sshd.log().length;
    for (const b of BAD) {
      const snap = await engine.manager.addForward({ host: b.alias, spec: `-L ${await freePort()}:127.0.0.1:9` });
      assert.equal(snap.state, 'error', `${b.alias}: ${snap.state} ${snap.error ?? ''}`);
      assert.match(snap.error!, b.expect, b.alias);
      assert.match(snap.error!, new RegExp(`config line \\d+: .* does not connect to ${b.alias} while an option that applies to it is bad`), b.alias);
      await engine.manager.removeForward(snap.id);
      figures.badInputs();
    }
    await delay(300);
    const connections = sshd.log().slice(offset).split('\n').filter((l) => /^Connection from /.test(l));
    assert.deepEqual(connections, [], 'nothing connected anywhere');
    // The good host in the same file still works.
    const ok = await engine.manager.addForward({ host: 'fixture', spec: `-L ${await freePort()}:127.0.0.1:9` });
    assert.equal(ok.state, 'listening', ok.error);
    figures.fault();
  });
});
