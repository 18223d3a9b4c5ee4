/**
 * `Ciphers` from the ssh config, as ssh2's cipher list (src/core/ciphers.ts): OpenSSH's list
 * syntax (replace, `+` append, `-` remove, `^` first, wildcards) against the ciphers ssh2
 * implements; what it cannot do is skipped and said, a list with nothing left is refused.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cipherAlgorithms } from '../../src/core/ciphers';
import { ssh2Internals } from '../../src/core/lazySsh2';
import { Log, type LogLine } from '../../src/core/log';
import type { ResolvedHost } from '../../src/core/sshConfig';

const { DEFAULT_CIPHER, SUPPORTED_CIPHER } = ssh2Internals();

function ciphers(value: string | undefined): { list: string[] | undefined; lines: string[] } {
  const log = new Log('debug2');
  const lines: LogLine[] = [];
  log.onLine((l) => lines.push(l));
  const host = { alias: 'h', options: value === undefined ? {} : { ciphers: value } } as unknown as ResolvedHost;
  const algorithms = cipherAlgorithms(host, log);
  return { list: algorithms?.cipher as string[] | undefined, lines: lines.map((l) => l.text) };
}

describe('Ciphers from the ssh config', () => {
  test('not set: ssh2 keeps its defaults', () => {
    assert.equal(ciphers(undefined).list, undefined);
  });

  test('a list replaces the defaults, in the order given', () => {
    assert.deepEqual(ciphers('chacha20-poly1305@openssh.com,aes128-gcm@openssh.com').list, ['chacha20-poly1305@openssh.com', 'aes128-gcm@openssh.com']);
  });

  test('wildcards pick every supported cipher that matches', () => {
    const list = ciphers('aes*-ctr').list!;
    assert.deepEqual(list, SUPPORTED_CIPHER.filter((c) => /^aes.*-ctr$/.test(c)));
    assert.ok(list.includes('aes128-ctr') && list.includes('aes256-ctr'));
  });

  test('+ appends to the defaults, - removes from them, ^ puts first', () => {
    const extra = SUPPORTED_CIPHER.find((c) => !DEFAULT_CIPHER.includes(c))!;
    assert.deepEqual(ciphers(`+${extra}`).list, [...DEFAULT_CIPHER, extra]);
    assert.deepEqual(ciphers('-chacha20-poly1305@openssh.com').list, DEFAULT_CIPHER.filter((c) => c !== 'chacha20-poly1305@openssh.com'));
    const last = DEFAULT_CIPHER.at(-1)!;
    assert.deepEqual(ciphers(`^${last}`).list, [last, ...DEFAULT_CIPHER.filter((c) => c !== last)]);
  });

  test('a cipher ssh2 does not implement is skipped and said; none left is an error naming what is supported', () => {
    const r = ciphers('aes128-ocb@example.com,aes256-gcm@openssh.com');
    assert.deepEqual(r.list, ['aes256-gcm@openssh.com']);
    assert.ok(r.lines.includes('debug1: Ciphers: aes128-ocb@example.com is not supported by SSH Tunnels (ssh2); skipped.'), r.lines.join('\n'));
    assert.throws(() => ciphers('aes128-ocb@example.com'), (e: Error) => {
      assert.match(e.message, /^Ciphers aes128-ocb@example\.com \(ssh config for h\) leaves no cipher SSH Tunnels supports; supported: /);
      assert.ok(e.message.includes('aes128-gcm@openssh.com'));
      return true;
    });
  });
});
