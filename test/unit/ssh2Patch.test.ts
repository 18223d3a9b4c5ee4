/**
 * patches/ssh2+1.17.0.patch (applied by `npm install`'s postinstall, patch-package): SSH packet
 * padding comes from a pool of CSPRNG output instead of a randomFillSync() per packet. The pool
 * must hand out every byte once and keep the padding random across its refills. Poly1305's
 * WebAssembly module (~3.6 MB of RSS) is instantiated when chacha20-poly1305 is first used, not
 * when ssh2 is loaded. (The patch's
 * other behaviour changes — chacha20-poly1305 keeping no view on a read past that read, the
 * AES-GCM and chacha20 ciphers building each packet's plaintext in one lent buffer, and large
 * incoming chacha20-poly1305 packets' MACs checked by OpenSSL's Poly1305, and the native addon's
 * deciphers copying each packet out of the read — are tested with the other ciphers in
 * ssh2Deciphers.test.ts; SFTP and bcrypt-pbkdf loaded on first use, in
 * lazySsh2.test.ts.)
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { describe, test } from 'node:test';

interface PacketCipher { allocPacket(payloadLen: number): Buffer }
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { NullCipher } = require('ssh2/lib/protocol/crypto.js') as { NullCipher: new (seqno: number, onWrite: (b: Buffer) => void) => PacketCipher };

/** The padding of a packet ssh2 framed for a payload of `payloadLen` bytes. */
function padding(cipher: PacketCipher, payloadLen: number): Buffer {
  const packet = cipher.allocPacket(payloadLen);
  const padLen = packet[4];
  assert.equal(packet.length, 4 + 1 + payloadLen + padLen);
  return Buffer.from(packet.subarray(5 + payloadLen));
}

describe('ssh2 patch: pooled packet padding', () => {
  test('is applied to the installed ssh2', () => {
    const source = fs.readFileSync(require.resolve('ssh2/lib/protocol/crypto.js'), 'utf8');
    assert.ok(source.includes('function fillPadding('),
      'node_modules/ssh2 is not patched: run `npm install` (its postinstall applies patches/ssh2+1.17.0.patch)');
  });

  test('padding bytes are never handed out twice and stay uniformly random across pool refills', () => {
    const cipher = new NullCipher(0, () => undefined);
    const seen = new Set<string>();
    const counts = new Array<number>(256).fill(0);
    let total = 0;
    // ~3000 packets × 4–11 bytes of padding: several refills of the 4 KiB pool.
    for (let i = 0; i < 3000; i++) {
      const pad = padding(cipher, (i * 7) % 64);
      assert.ok(pad.length >= 4 && pad.length <= 255);
      if (pad.length >= 8) {
        const key = pad.toString('hex');
        assert.ok(!seen.has(key), `padding ${key} repeated at packet ${i}`);
        seen.add(key);
      }
      for (const b of pad) counts[b]++;
      total += pad.length;
    }
    // Chi-square over byte values (255 degrees of freedom; mean 255, sd ~22.6): a pool that repeats
    // or hands out zeros lands in the thousands.
    const expected = total / 256;
    const chi2 = counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
    assert.ok(chi2 < 400, `padding bytes are not uniform: chi-square ${chi2.toFixed(0)} over ${total} bytes`);
  });
});

describe('ssh2 patch: Poly1305 loaded on first use', () => {
  test('loading ssh2 and using AES-GCM instantiate no WebAssembly; the first chacha20-poly1305 cipher does, once', () => {
    // A fresh process: counts every WebAssembly module compiled, synchronously or not.
    const script = `
      const counts = { compiled: 0 };
      for (const name of ['Module', 'compile', 'instantiate']) {
        const orig = WebAssembly[name];
        WebAssembly[name] = name === 'Module'
          ? new Proxy(orig, { construct(t, a) { counts.compiled++; return Reflect.construct(t, a); } })
          : function (...a) { if (!(a[0] instanceof WebAssembly.Module)) counts.compiled++; return orig.apply(this, a); };
      }
      const { randomBytes } = require('node:crypto');
      require(${JSON.stringify(require.resolve('ssh2'))});
      const crypto = require(${JSON.stringify(require.resolve('ssh2/lib/protocol/crypto.js'))});
      const seen = [];
      function roundTrip(name) {
        const info = crypto.CIPHER_INFO[name];
        const key = randomBytes(info.keyLen), iv = randomBytes(info.ivLen);
        const wire = [];
        const out = crypto.createCipher({ outbound: { onWrite: (b) => wire.push(Buffer.from(b)), cipherInfo: info, cipherKey: Buffer.from(key), cipherIV: Buffer.from(iv), seqno: 0 } });
        const packet = out.allocPacket(5);
        packet.write('hello', 5);
        out.encrypt(packet);
        const got = [];
        crypto.createDecipher({ inbound: { onPayload: (p) => { got.push(Buffer.from(p).toString()); }, decipherInfo: info, decipherKey: Buffer.from(key), decipherIV: Buffer.from(iv), seqno: 0 } })
          .decrypt(Buffer.concat(wire), 0, Buffer.concat(wire).length);
        return got.join();
      }
      crypto.init.then(() => setTimeout(() => {
        seen.push({ step: 'ssh2 loaded', ...counts });
        seen.push({ step: 'aes128-gcm', echoed: roundTrip('aes128-gcm@openssh.com'), ...counts });
        seen.push({ step: 'chacha20-poly1305', echoed: roundTrip('chacha20-poly1305@openssh.com'), ...counts });
        seen.push({ step: 'chacha20-poly1305 again', echoed: roundTrip('chacha20-poly1305@openssh.com'), ...counts });
        process.stdout.write(JSON.stringify(seen));
      }, 50));
    `;
    const seen = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })) as Array<{ step: string; compiled: number; echoed?: string }>;
    assert.deepEqual(seen, [
      { step: 'ssh2 loaded', compiled: 0 },
      { step: 'aes128-gcm', echoed: 'hello', compiled: 0 },
      { step: 'chacha20-poly1305', echoed: 'hello', compiled: 1 },
      { step: 'chacha20-poly1305 again', echoed: 'hello', compiled: 1 },
    ]);
  });
});
