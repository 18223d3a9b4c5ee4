/**
 * ssh2, loaded on first use. Requiring it costs tens of ms on one core (crypto self-tests, every
 * protocol module): the engine need not pay that before the first connection. Type-only imports of
 * 'ssh2' elsewhere are free.
 *
 * Only the two parts the engine uses are required — the client and the key parser — not ssh2's
 * index, which also loads (and, bundled, ships) its SSH server, key generator and HTTP agents.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
import type * as Ssh2 from 'ssh2';

export interface Ssh2Parts {
  Client: typeof Ssh2.Client;
  /** Parses an OpenSSH, PEM or PuTTY private key (ssh2's `utils.parseKey`). */
  parseKey: typeof Ssh2.utils.parseKey;
}

let mod: Ssh2Parts | undefined;

export function ssh2(): Ssh2Parts {
  return (mod ??= {
    Client: require('ssh2/lib/client.js') as typeof Ssh2.Client,
    parseKey: (require('ssh2/lib/protocol/keyParser.js') as { parseKey: typeof Ssh2.utils.parseKey }).parseKey,
  });
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
