/** Which connection failures are retried (transient) and which need the user (fatal), and their words. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeConnectionError } from '../../src/core/errors';

function err(message: string, level?: string, code?: string): Error {
  return Object.assign(new Error(message), { level, code });
}

const cases: { name: string; error: Error; fatal: boolean; text: RegExp }[] = [
  { name: 'server died mid-handshake (sshd restarting)', error: err('Connection lost before handshake', 'protocol'), fatal: false, text: /closed during the SSH handshake — the server may be restarting/ },
  { name: 'no common algorithm', error: err('Handshake failed: no matching cipher', 'handshake'), fatal: true, text: /no matching cipher/ },
  { name: 'refused', error: err('connect ECONNREFUSED', 'client-socket', 'ECONNREFUSED'), fatal: false, text: /Connection refused — is sshd running there/ },
  { name: 'unknown host', error: err('getaddrinfo ENOTFOUND', 'client-socket', 'ENOTFOUND'), fatal: false, text: /Could not resolve hostname h\.example/ },
  { name: 'keepalive', error: err('Keepalive timeout', 'client-timeout'), fatal: false, text: /Timeout, server h\.example not responding\./ },
];

for (const c of cases) {
  test(`connection error: ${c.name}`, () => {
    const e = describeConnectionError(c.error, 'h.example', 22);
    assert.equal(e.fatal, c.fatal);
    assert.match(e.message, c.text);
  });
}
