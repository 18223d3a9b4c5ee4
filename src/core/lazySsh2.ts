/**
 * ssh2, loaded on first use. Requiring it costs ~65 ms on one core (crypto self-tests, the WASM
 * poly1305, every protocol module): the extension host need not pay that at activation, only when
 * the first connection is made. Type-only imports of 'ssh2' elsewhere are free.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
import type * as Ssh2 from 'ssh2';

let mod: typeof Ssh2 | undefined;

export function ssh2(): typeof Ssh2 {
  return (mod ??= require('ssh2') as typeof Ssh2);
}

/** ssh2 internals (bundled with ssh2, so the same instances; ssh2's version is pinned). */
export interface Ssh2Internals {
  DEFAULT_CIPHER: string[];
  SUPPORTED_CIPHER: string[];
  /** Encrypts and writes a finalized packet (queues it during key exchange). */
  sendPacket: (proto: unknown, packet: Buffer) => boolean;
}

let internals: Ssh2Internals | undefined;

export function ssh2Internals(): Ssh2Internals {
  if (!internals) {
    ssh2();
    const constants = require('ssh2/lib/protocol/constants.js') as Pick<Ssh2Internals, 'DEFAULT_CIPHER' | 'SUPPORTED_CIPHER'>;
    const utils = require('ssh2/lib/protocol/utils.js') as Pick<Ssh2Internals, 'sendPacket'>;
    internals = { DEFAULT_CIPHER: constants.DEFAULT_CIPHER, SUPPORTED_CIPHER: constants.SUPPORTED_CIPHER, sendPacket: utils.sendPacket };
  }
  return internals;
}
