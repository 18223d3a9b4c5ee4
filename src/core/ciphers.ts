/**
 * The ssh config's `Ciphers` for ssh2 (see cipherAlgorithms).
 */
import type { Algorithms } from 'ssh2';
import { ssh2Internals } from './lazySsh2';
import type { Log } from './log';
import { matchPattern, type ResolvedHost } from './sshConfig';

/**
 * The ssh config's `Ciphers` as ssh2's cipher list, with OpenSSH's syntax: a list replaces the
 * defaults, `+list` appends to them, `-list` removes from them, `^list` puts them first; names may
 * use `*` and `?` wildcards. Ciphers ssh2 does not implement are skipped (and logged); a list that
 * leaves none is a configuration error. Undefined (ssh2's defaults) when the config sets none.
 */
export function cipherAlgorithms(host: ResolvedHost, log: Log): Algorithms | undefined {
  const value = host.options.ciphers?.trim();
  if (!value) return undefined;
  const { DEFAULT_CIPHER, SUPPORTED_CIPHER } = ssh2Internals();
  const op = /^[+\-^]/.test(value) ? value[0] : '';
  const patterns = value.slice(op ? 1 : 0).split(',').map((p) => p.trim()).filter(Boolean);
  const matching = (p: string): string[] => SUPPORTED_CIPHER.filter((c) => matchPattern(c, p));
  const listed: string[] = [];
  for (const p of patterns) {
    const found = matching(p);
    if (!found.length) log.debug1(`Ciphers: ${p} is not supported by SSH Tunnels (ssh2); skipped.`);
    for (const c of found) if (!listed.includes(c)) listed.push(c);
  }
  let list: string[];
  switch (op) {
    case '+': list = [...DEFAULT_CIPHER, ...listed.filter((c) => !DEFAULT_CIPHER.includes(c))]; break;
    case '-': list = DEFAULT_CIPHER.filter((c) => !listed.includes(c)); break;
    case '^': list = [...listed, ...DEFAULT_CIPHER.filter((c) => !listed.includes(c))]; break;
    default: list = listed;
  }
  if (!list.length) {
    throw new Error(`Ciphers ${value} (ssh config for ${host.alias}) leaves no cipher SSH Tunnels supports; supported: ${SUPPORTED_CIPHER.join(',')}.`);
  }
  log.debug2(`ciphers: ${list.join(',')}`);
  return { cipher: list as NonNullable<Algorithms['cipher']> };
}
