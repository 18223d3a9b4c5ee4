/**
 * ssh2's JavaScript ciphers, the ones the bundled extension runs: it ships without ssh2's native
 * addon, and so do the tests (npm install's postinstall removes the addon's build, which would
 * otherwise replace every cipher below in the unit and integration tests). A packet may arrive
 * split anywhere across socket reads; every split must give back the same payloads, which must stay
 * intact after the read buffers are reused, and a flipped bit must still fail authentication. On
 * the way out, what a cipher wrote must stay intact while the packets after it are built.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, describe, test } from 'node:test';

interface CipherInfo { keyLen: number; ivLen: number }
interface MacInfo { len: number }
interface Outbound { allocPacket(payloadLen: number): Buffer; encrypt(packet: Buffer): void }
interface Inbound { decrypt(data: Buffer, p: number, dataLen: number): number | undefined }
interface Ssh2Crypto {
  bindingAvailable: boolean;
  init: Promise<void>;
  CIPHER_INFO: Record<string, CipherInfo>;
  MAC_INFO: Record<string, MacInfo>;
  createCipher(config: unknown): Outbound;
  createDecipher(config: unknown): Inbound;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ssh2Crypto = require('ssh2/lib/protocol/crypto.js') as Ssh2Crypto;

/** The AEAD ciphers, and CTR/CBC with an HMAC (encrypt-and-MAC and encrypt-then-MAC), which a user's Ciphers/MACs may pick. */
const CIPHERS = [
  'aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'chacha20-poly1305@openssh.com',
  'aes128-ctr hmac-sha2-256', 'aes256-ctr hmac-sha2-512-etm@openssh.com', 'aes256-cbc hmac-sha1',
];

/** The wire bytes of `payloads` sealed with `cipher` and a fresh key, and a way to open them again. */
function seal(cipherAndMac: string, payloads: Buffer[], together = 1): { wire: Buffer; pieces: number[]; open: (onPayload: (p: Buffer) => void) => Inbound } {
  const [cipher, mac] = cipherAndMac.split(' ') as [string, string | undefined];
  const info = ssh2Crypto.CIPHER_INFO[cipher]!;
  const key = randomBytes(info.keyLen);
  const iv = randomBytes(info.ivLen);
  const macInfo = mac === undefined ? undefined : ssh2Crypto.MAC_INFO[mac]!;
  const macKey = macInfo && randomBytes(macInfo.len);
  const chunks: Buffer[] = [];
  const out = ssh2Crypto.createCipher({
    // Kept as written, not copied: a corked socket holds these until its write, after later
    // packets are built (the patched ciphers build every packet's plaintext in one lent buffer).
    outbound: { onWrite: (b: Buffer) => chunks.push(b), cipherInfo: info, cipherKey: Buffer.from(key), cipherIV: Buffer.from(iv), seqno: 0, macInfo, macKey },
  });
  // `together` packets are allocated and filled before the first of them is encrypted.
  for (let i = 0; i < payloads.length; i += together) {
    const batch = payloads.slice(i, i + together).map((payload) => {
      const packet = out.allocPacket(payload.length);
      payload.copy(packet, 5);
      return packet;
    });
    for (const packet of batch) out.encrypt(packet);
  }
  let end = 0;
  return {
    wire: Buffer.concat(chunks),
    // Where each piece ssh2 wrote ends (length, body, MAC of every packet): the edges sshd's reads may have too.
    pieces: chunks.map((c) => (end += c.length)),
    open: (onPayload) => ssh2Crypto.createDecipher({
      inbound: { onPayload, decipherInfo: info, decipherKey: Buffer.from(key), decipherIV: Buffer.from(iv), seqno: 0, macInfo, macKey },
    }),
  };
}

/** Feeds `wire` to a decipher in pieces cut at `cuts` (offsets), as socket reads would arrive. */
function feed(decipher: Inbound, wire: Buffer, cuts: number[]): void {
  let from = 0;
  for (const to of [...cuts, wire.length]) {
    // Each read in a buffer of its own that is overwritten afterwards, like a reused read buffer.
    const read = Buffer.from(wire.subarray(from, to));
    decipher.decrypt(read, 0, read.length);
    read.fill(0xee);
    from = to;
  }
}

before(async () => {
  await ssh2Crypto.init;
});

describe('ssh2 deciphers as shipped (no native addon)', () => {
  test('the tests run ssh2 without its native addon, like the bundle', () => {
    assert.equal(ssh2Crypto.bindingAvailable, false,
      "ssh2's native crypto addon is built in node_modules: the tests would not run the code the extension ships (npm install's postinstall removes it)");
  });

  for (const cipher of CIPHERS) {
    test(`${cipher}: packets split anywhere across reads come out intact and stay intact`, () => {
      // A full-size channel packet, a tiny one, and one in between, twice.
      const payloads = [randomBytes(32 * 1024 + 9), randomBytes(3), randomBytes(5000), randomBytes(32 * 1024 + 9), randomBytes(1), randomBytes(777)];
      const { wire, pieces, open } = seal(cipher, payloads);
      const cutSets: number[][] = [
        [],
        // Each piece in a read of its own: a whole body in one read, its MAC only in the next.
        pieces,
        // Every 64 KiB, like a busy socket's reads.
        Array.from({ length: Math.floor(wire.length / 65536) }, (_, i) => (i + 1) * 65536),
        // Inside the length, inside the payload, inside the MAC of the first packet, then every 1000 bytes.
        [1, 3, 4, 5, 700, 32 * 1024, 32 * 1024 + 30, 32 * 1024 + 40, ...Array.from({ length: 70 }, (_, i) => 33_000 + i * 1000)],
        // One byte at a time through the first 40 bytes, then odd strides.
        [...Array.from({ length: 40 }, (_, i) => i + 1), ...Array.from({ length: 100 }, (_, i) => 41 + i * 997)],
      ];
      for (const cuts of cutSets) {
        const got: Buffer[] = [];
        feed(open((p) => { got.push(p); }), wire, cuts.filter((c) => c > 0 && c < wire.length));
        assert.equal(got.length, payloads.length, `cuts ${cuts.slice(0, 5).join(',')}…: ${got.length} packets`);
        // Compared only now: a payload must not share memory with the reused gather buffer or a read.
        got.forEach((p, i) => assert.ok(p.equals(payloads[i]!), `packet ${i} differs (cuts ${cuts.slice(0, 5).join(',')}…)`));
      }
    });

    test(`${cipher}: a packet built while the one before it awaits encryption comes out intact`, () => {
      const payloads = [randomBytes(32 * 1024 + 9), randomBytes(3), randomBytes(5000), randomBytes(32 * 1024 + 9), randomBytes(1), randomBytes(777)];
      const { wire, open } = seal(cipher, payloads, 3);
      const got: Buffer[] = [];
      feed(open((p) => { got.push(p); }), wire, []);
      assert.equal(got.length, payloads.length);
      got.forEach((p, i) => assert.ok(p.equals(payloads[i]!), `packet ${i} differs`));
    });

    test(`${cipher}: a flipped bit in a split packet fails authentication`, () => {
      const { wire, open } = seal(cipher, [randomBytes(20_000)]);
      wire[wire.length - 5000]! ^= 0x10;
      assert.throws(() => feed(open(() => undefined), wire, [4096, 8192, 12_000]), /Unsupported state|authenticate|Invalid MAC/i);
    });
  }
});
