/**
 * ssh2's JavaScript ciphers, the ones the bundled extension runs: it ships without ssh2's native
 * addon, and so do the tests (npm install's postinstall removes the addon's build, which would
 * otherwise replace every cipher below in the unit and integration tests). A packet may arrive
 * split anywhere across socket reads; every split must give back the same payloads, which must stay
 * intact after the read buffers are reused, and a flipped bit must still fail authentication. On
 * the way out, what a cipher wrote must stay intact while the packets after it are built.
 */
import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes, randomInt, type Decipher, type KeyObject } from 'node:crypto';
import Module from 'node:module';
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

/** The wire bytes of `payloads` sealed with `cipher` and a fresh key, and a way to open them again (by `opener`'s deciphers). */
function seal(cipherAndMac: string, payloads: Buffer[], together = 1, opener: Ssh2Crypto = ssh2Crypto): { wire: Buffer; pieces: number[]; open: (onPayload: (p: Buffer) => void) => Inbound } {
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
    open: (onPayload) => opener.createDecipher({
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

/**
 * ssh2's deciphers for its native addon decrypt in place. The addon is not shipped (and not built
 * here), so a stand-in with its API decrypts in place with Node's crypto; it checks no MAC — what
 * is tested is where the payloads live. The engine reads its SSH socket into one reused buffer
 * (bench/README.md changes 15–16): a payload left as a view on a read is overwritten by the next
 * one (the bench caught it when the real addon was loaded, 2026-11-27).
 */
describe('ssh2 patch: the native addon\'s deciphers keep no view on a read (in-place stand-in addon)', () => {
  let decrypts = 0;
  const ivIncrement = (iv: Buffer): void => {
    for (let i = 11; i >= 4 && ++iv[i]! === 256; i--) iv[i] = 0;
  };
  const chachaIv = (counter: number, seqno: number): Buffer => {
    const iv = Buffer.alloc(16);
    iv[0] = counter;
    iv.writeUInt32BE(seqno, 12);
    return iv;
  };
  const inPlace = (packet: Uint8Array, out: Buffer): void => {
    decrypts++;
    packet.set(out);
  };
  const addon = {
    AESGCMDecipher: class {
      private readonly iv: Buffer;
      constructor(private readonly name: string, private readonly key: Buffer, iv: Buffer) { this.iv = Buffer.from(iv); }
      decrypt(packet: Uint8Array, len: number, tag: Buffer): void {
        const d = createDecipheriv(this.name as 'aes-128-gcm', this.key, this.iv);
        const aad = Buffer.alloc(4);
        aad.writeUInt32BE(len);
        d.setAAD(aad);
        d.setAuthTag(tag);
        inPlace(packet, Buffer.concat([d.update(packet), d.final()]));
        ivIncrement(this.iv);
      }
      free(): void { /* nothing held */ }
    },
    ChaChaPolyDecipher: class {
      constructor(private readonly key: Buffer) {}
      decryptLen(lenBuf: Buffer, seqno: number): number {
        return createDecipheriv('chacha20', this.key.subarray(32), chachaIv(0, seqno)).update(lenBuf).readUInt32BE(0);
      }
      decrypt(packet: Uint8Array, _mac: Buffer, seqno: number): void {
        inPlace(packet, createDecipheriv('chacha20', this.key.subarray(0, 32), chachaIv(1, seqno)).update(packet));
      }
      free(): void { /* nothing held */ }
    },
    GenericDecipher: class {
      private readonly d: Decipher;
      constructor(name: string, key: Buffer, iv: Buffer) { this.d = createDecipheriv(name, key, iv).setAutoPadding(false); }
      decryptBlock(block: Buffer): void { block.set(this.d.update(block)); }
      decrypt(packet: Uint8Array): void { inPlace(packet, this.d.update(packet)); }
      free(): void { /* nothing held */ }
    },
  };
  /** A second instance of ssh2's crypto module that finds `addon` where it looks for sshcrypto.node. */
  function withAddon(): Ssh2Crypto {
    const file = require.resolve('ssh2/lib/protocol/crypto.js');
    const shipped = require.cache[file];
    const M = Module as unknown as { _load: (request: string, parent: { filename?: string } | undefined, ...rest: unknown[]) => unknown };
    const load = M._load;
    M._load = function (request, parent, ...rest) {
      if (request.endsWith('sshcrypto.node') && parent?.filename === file) return addon;
      return load.call(this, request, parent, ...rest);
    };
    delete require.cache[file];
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return require(file) as Ssh2Crypto;
    } finally {
      M._load = load;
      require.cache[file] = shipped;
    }
  }
  let native: Ssh2Crypto;
  before(() => {
    native = withAddon();
  });

  test('the stand-in is what those deciphers load, and the shipped ones are untouched', () => {
    assert.equal(native.bindingAvailable, true);
    assert.equal(ssh2Crypto.bindingAvailable, false);
    assert.equal(require('ssh2/lib/protocol/crypto.js'), ssh2Crypto);
  });

  // CBC with a MAC over the plaintext is left out: the addon decrypts its first block apart, which
  // the stand-in would have to mimic; its packet is gathered the same way as these.
  for (const cipher of ['aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'chacha20-poly1305@openssh.com', 'aes128-ctr hmac-sha2-256', 'aes256-ctr hmac-sha2-512-etm@openssh.com']) {
    test(`${cipher}: payloads stay intact after the reads they came in are overwritten`, () => {
      const payloads = [randomBytes(32 * 1024 + 9), randomBytes(3), randomBytes(5000), randomBytes(32 * 1024 + 9), randomBytes(1), randomBytes(777)];
      const { wire, pieces, open } = seal(cipher, payloads, 1, native);
      // Whole packets in one read (where a view would be taken), each piece in a read of its own, 64 KiB reads.
      for (const cuts of [[], pieces, Array.from({ length: Math.floor(wire.length / 65536) }, (_, i) => (i + 1) * 65536)]) {
        const before = decrypts;
        const got: Buffer[] = [];
        feed(open((p) => { got.push(p); }), wire, cuts.filter((c) => c > 0 && c < wire.length));
        assert.equal(decrypts - before, payloads.length, 'the stand-in addon decrypted every packet');
        assert.equal(got.length, payloads.length);
        got.forEach((p, i) => assert.ok(p.equals(payloads[i]!), `packet ${i} differs (cuts ${cuts.slice(0, 3).join(',')}…)`));
      }
    });
  }
});

describe("chacha20-poly1305: large packets' MACs checked through OpenSSL's RFC 8439 AEAD (ssh2 patch)", () => {
  interface Poly1305Check {
    AEAD_MAC_MIN_LEN: number;
    aeadMacAgrees(): boolean;
    poly1305MacValid(key: KeyObject, nonce: Buffer, lenBuf: Buffer, packet: Buffer, polyKey: Buffer, mac: Buffer): boolean;
  }
  const check = ssh2Crypto as unknown as Poly1305Check;
  /** OpenSSH's MAC, computed by ssh2's WebAssembly Poly1305 (what small packets still use): Poly1305(K, enc_len || ciphertext). */
  let reference: (lenBuf: Buffer, packet: Buffer, polyKey: Buffer) => Buffer;

  before(() => {
    const mod = {} as { _malloc(n: number): number; cwrap(...a: unknown[]): (...a: unknown[]) => void; HEAPU8: Uint8Array };
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    (require('ssh2/lib/protocol/crypto/poly1305.js') as (m: object) => Promise<void>)(mod).catch(() => undefined);
    const out = mod._malloc(16);
    const auth = mod.cwrap('poly1305_auth', null, ['number', 'array', 'number', 'array', 'number', 'array']);
    reference = (lenBuf, packet, polyKey) => {
      auth(out, lenBuf, 4, packet, packet.length, polyKey);
      return Buffer.from(mod.HEAPU8.subarray(out, out + 16));
    };
  });

  /** A packet as the decipher sees it: its key, nonce (seqno), encrypted length and body, one-time key. */
  function packetOf(bodyLen: number): { key: KeyObject; nonce: Buffer; lenBuf: Buffer; packet: Buffer; polyKey: Buffer } {
    const key = createSecretKey(randomBytes(32));
    const iv = Buffer.alloc(16);
    iv.writeUInt32BE(randomInt(2 ** 32 - 1), 12); // chacha20's counter 0, then OpenSSH's nonce: the seqno
    const polyKey = createCipheriv('chacha20', key, iv).update(Buffer.alloc(64)).subarray(0, 32);
    return { key, nonce: iv.subarray(4), lenBuf: randomBytes(4), packet: randomBytes(bodyLen), polyKey };
  }

  test("the channel packets a bulk transfer carries take this path: this Node's AEAD passes the check made before its first use", () => {
    assert.ok(check.AEAD_MAC_MIN_LEN > 0 && check.AEAD_MAC_MIN_LEN <= 32 * 1024, `threshold ${check.AEAD_MAC_MIN_LEN}`);
    // If it did not, large packets would silently go back to the WebAssembly Poly1305.
    assert.equal(check.aeadMacAgrees(), true);
  });

  test('a MAC is accepted exactly when it is Poly1305 over enc_len || ciphertext, for every length class', () => {
    // Bodies are multiples of 8 (the cipher's block size), so |M| = 4 + body is 4 or 12 mod 16;
    // 16-aligned lengths are checked too, in case a caller ever passes one.
    const lengths = [8, 16, 24, 1000, 4096, 12 * 1024, 12 * 1024 + 4, 16 * 1024, 32 * 1024 + 8, 32 * 1024 + 12, 35000,
      ...Array.from({ length: 150 }, () => 8 * (1 + randomInt(4400)))];
    for (const len of lengths) {
      const p = packetOf(len);
      const mac = reference(p.lenBuf, p.packet, p.polyKey);
      assert.equal(check.poly1305MacValid(p.key, p.nonce, p.lenBuf, p.packet, p.polyKey, mac), true, `valid MAC refused, body ${len}`);
      const badMac = Buffer.from(mac);
      badMac[randomInt(16)]! ^= 1 << randomInt(8);
      assert.equal(check.poly1305MacValid(p.key, p.nonce, p.lenBuf, p.packet, p.polyKey, badMac), false, `altered MAC accepted, body ${len}`);
      const badBody = Buffer.from(p.packet);
      badBody[randomInt(len)]! ^= 1 << randomInt(8);
      assert.equal(check.poly1305MacValid(p.key, p.nonce, p.lenBuf, badBody, p.polyKey, mac), false, `altered body accepted, body ${len}`);
      const badLen = Buffer.from(p.lenBuf);
      badLen[randomInt(4)]! ^= 1 << randomInt(8);
      assert.equal(check.poly1305MacValid(p.key, p.nonce, badLen, p.packet, p.polyKey, mac), false, `altered length accepted, body ${len}`);
    }
  });

  test('every single-bit change of a MAC, and a MAC off by small multiples of 2^128 mod p, is refused', () => {
    const p = packetOf(32 * 1024 + 8);
    const mac = reference(p.lenBuf, p.packet, p.polyKey);
    for (let bit = 0; bit < 128; bit++) {
      const bad = Buffer.from(mac);
      bad[bit >> 3]! ^= 1 << (bit & 7);
      assert.equal(check.poly1305MacValid(p.key, p.nonce, p.lenBuf, p.packet, p.polyKey, bad), false, `bit ${bit}`);
    }
    // h + k*2^128 for k = 1..3 reduce to the same 128 bits only if they exceed p; near misses
    // (the MAC plus or minus 5, the gap between 2^130 and p) must not pass either.
    const m = mac.readBigUInt64LE(0) | (mac.readBigUInt64LE(8) << 64n);
    for (const delta of [1n, 4n, 5n, 6n, -5n]) {
      const x = (m + delta) & ((1n << 128n) - 1n);
      const bad = Buffer.alloc(16);
      bad.writeBigUInt64LE(x & 0xFFFFFFFFFFFFFFFFn, 0);
      bad.writeBigUInt64LE(x >> 64n, 8);
      assert.equal(check.poly1305MacValid(p.key, p.nonce, p.lenBuf, p.packet, p.polyKey, bad), false, `MAC + ${delta}`);
    }
  });
});
