/**
 * OpenSSH known_hosts files: looking a server's host key up (hostfile.c semantics), recording a new
 * one, and OpenSSH's own warnings for changed and revoked keys.
 *
 * Lines are `[@marker] hostnames keytype base64 [comment]`. `hostnames` is either a comma-separated
 * pattern list (`*`, `?`, `!negation`, case-insensitive; `[host]:port` for ports other than 22) or
 * one hashed name `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`. `@revoked` keys are refused for
 * the hosts their line matches; `@cert-authority` lines are read and skipped (no host certificates).
 */
import crypto = require('node:crypto');
import fs = require('node:fs');
import path = require('node:path');
import { matchHostname, readTextFileBounded } from './sshConfig';

/** known_hosts files larger than this are not read (a problem is recorded instead). */
const MAX_KNOWN_HOSTS_BYTES = 64 * 1024 * 1024;

export interface KnownHostsProblem {
  file: string;
  line: number;
  message: string;
}

export interface KnownHostMatch {
  file: string;
  line: number;
  keyType: string;
  fingerprint: string;
}

export type HostKeyStatus = 'known' | 'unknown' | 'changed' | 'revoked';

export interface HostKeyCheck {
  status: HostKeyStatus;
  /** Type of the key the server sent, e.g. `ssh-ed25519`. */
  keyType: string;
  /** `SHA256:...` of the key the server sent. */
  fingerprint: string;
  /**
   * Keys recorded for this host (not @revoked/@cert-authority lines), most relevant first: the
   * identical key for 'known', keys of the same type (the offending ones) for 'changed'.
   */
  matches: KnownHostMatch[];
  /** The @revoked line that revoked the key, for 'revoked'. */
  revokedBy?: KnownHostMatch;
}

/** `SHA256:` + unpadded base64 of the SHA-256 of the key blob, as `ssh-keygen -l` prints it. */
export function fingerprintSha256(keyBlob: Buffer): string {
  return 'SHA256:' + crypto.createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '');
}

/** The key type named by the blob's first SSH string (e.g. `ssh-ed25519`). Throws on a malformed blob. */
export function keyTypeOf(keyBlob: Buffer): string {
  if (keyBlob.length < 4) throw new Error('Malformed SSH key blob: too short.');
  const len = keyBlob.readUInt32BE(0);
  if (len === 0 || len > 256 || 4 + len > keyBlob.length) throw new Error('Malformed SSH key blob: bad key type length.');
  const type = keyBlob.subarray(4, 4 + len).toString('latin1');
  if (!/^[\x21-\x7e]+$/.test(type)) throw new Error('Malformed SSH key blob: key type is not printable.');
  return type;
}

function keyTypeOrUnknown(keyBlob: Buffer): string {
  try {
    return keyTypeOf(keyBlob);
  } catch {
    return 'unknown';
  }
}

/** OpenSSH's short key type names used in its messages (sshkey_type). */
export function sshKeyTypeLabel(keyType: string): string {
  const cert = keyType.includes('-cert-v01@openssh.com');
  const base = keyType.replace('-cert-v01@openssh.com', '');
  let label: string;
  if (base === 'ssh-rsa') label = 'RSA';
  else if (base === 'ssh-dss') label = 'DSA';
  else if (base.startsWith('ecdsa-sha2-')) label = 'ECDSA';
  else if (base === 'ssh-ed25519') label = 'ED25519';
  else if (base.startsWith('sk-ecdsa-sha2-')) label = 'ECDSA-SK';
  else if (base === 'sk-ssh-ed25519@openssh.com') label = 'ED25519-SK';
  else if (base === 'ssh-xmss@openssh.com') label = 'XMSS';
  else label = keyType;
  return cert ? `${label}-CERT` : label;
}

/** The name OpenSSH looks up: `host` for port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  const h = host.includes(':') ? host : host.toLowerCase();
  return port === 22 || port === 0 ? h : `[${h}]:${port}`;
}

type Marker = 'none' | 'revoked' | 'cert-authority';

interface Entry {
  file: string;
  line: number;
  marker: Marker;
  /** Plain pattern list, or hashed salt/hash. */
  patterns?: string;
  salt?: Buffer;
  hash?: Buffer;
  keyType: string;
  blob: Buffer;
  fingerprint: string;
}

const HASH_MAGIC = '|1|';

function parseKnownHostsLine(text: string, file: string, lineNo: number, problems: KnownHostsProblem[]): Entry | undefined {
  const s = text.replace(/^[ \t\uFEFF]+/, '').replace(/[\s]+$/, '');
  if (s === '' || s.startsWith('#')) return undefined;
  const problem = (message: string): undefined => {
    problems.push({ file, line: lineNo, message });
    return undefined;
  };
  const fields = s.split(/[ \t]+/);
  let marker: Marker = 'none';
  if (fields[0].startsWith('@')) {
    const m = fields.shift() as string;
    if (m === '@revoked') marker = 'revoked';
    else if (m === '@cert-authority') marker = 'cert-authority';
    else return problem(`Unknown marker "${m}" (expected @revoked or @cert-authority).`);
  }
  if (fields.length < 3) return problem(`Malformed line: expected "hostnames keytype base64-key", got ${fields.length} field(s).`);
  const [names, keyType, b64] = fields;
  if (/^\d+$/.test(keyType)) return problem('SSH protocol 1 RSA key (bits exponent modulus) is not supported; line ignored.');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return problem(`Malformed ${keyType} key: not base64.`);
  const blob = Buffer.from(b64, 'base64');
  let blobType: string;
  try {
    blobType = keyTypeOf(blob);
  } catch (err) {
    return problem(`Malformed ${keyType} key: ${(err as Error).message}`);
  }
  if (blobType !== keyType) return problem(`Key type mismatch: the line says ${keyType} but the key is ${blobType}.`);
  const entry: Entry = { file, line: lineNo, marker, keyType, blob, fingerprint: fingerprintSha256(blob) };
  if (names.startsWith(HASH_MAGIC)) {
    const parts = names.slice(HASH_MAGIC.length).split('|');
    const salt = parts.length === 2 ? Buffer.from(parts[0], 'base64') : undefined;
    const hash = parts.length === 2 ? Buffer.from(parts[1], 'base64') : undefined;
    if (!salt || !hash || salt.length !== 20 || hash.length !== 20 || !/^[A-Za-z0-9+/=]+$/.test(parts[0] + parts[1])) {
      return problem('Malformed hashed host name (expected |1|salt|hash with 20-byte base64 values).');
    }
    entry.salt = salt;
    entry.hash = hash;
  } else if (names.startsWith('|')) {
    return problem(`Unsupported hashed host name format "${names.split('|').slice(0, 2).join('|')}|...".`);
  } else {
    entry.patterns = names;
  }
  return entry;
}

function hashHostName(salt: Buffer, name: string): Buffer {
  return crypto.createHmac('sha1', salt).update(name).digest();
}

function entryMatches(e: Entry, name: string): boolean {
  if (e.salt && e.hash) {
    return crypto.timingSafeEqual(hashHostName(e.salt, name), e.hash);
  }
  return matchHostname(name, e.patterns ?? '') === 1;
}

function toMatch(e: Entry): KnownHostMatch {
  return { file: e.file, line: e.line, keyType: e.keyType, fingerprint: e.fingerprint };
}

/** Reads known_hosts files once; `check` looks keys up. Missing or unreadable files are fine. */
export class KnownHosts {
  readonly files: string[];
  readonly problems: KnownHostsProblem[] = [];
  private readonly entries: Entry[] = [];

  constructor(files: string[]) {
    this.files = files;
    for (const file of files) {
      let text: string;
      try {
        text = readTextFileBounded(file, MAX_KNOWN_HOSTS_BYTES);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT' && code !== 'ENOTDIR') this.problems.push({ file, line: 0, message: `Cannot read ${file}: ${(err as Error).message}` });
        continue;
      }
      const lines = text.split('\n');
      for (let i = 0; i < lines.length; i++) {
        const e = parseKnownHostsLine(lines[i], file, i + 1, this.problems);
        if (e) this.entries.push(e);
      }
    }
  }

  /**
   * Every line recorded for this host and port (like `ssh-keygen -F`), including @revoked and
   * @cert-authority lines, in file order.
   */
  lookup(host: string, port: number): (KnownHostMatch & { marker?: 'revoked' | 'cert-authority' })[] {
    const name = knownHostsName(host, port);
    return this.entries
      .filter((e) => entryMatches(e, name))
      .map((e) => (e.marker === 'none' ? toMatch(e) : { ...toMatch(e), marker: e.marker as 'revoked' | 'cert-authority' }));
  }

  /**
   * Looks up the key a server sent, like OpenSSH: 'revoked' if an @revoked line for this host has
   * this key (wins over everything), 'known' if a line for this host has it, 'changed' if a line
   * for this host has another key of the same type, else 'unknown' (including when only keys of
   * other types are recorded). Port 22 is looked up as the bare host, others as `[host]:port`.
   */
  check(host: string, port: number, keyBlob: Buffer): HostKeyCheck {
    const name = knownHostsName(host, port);
    const keyType = keyTypeOrUnknown(keyBlob);
    const fingerprint = fingerprintSha256(keyBlob);
    const forHost = this.entries.filter((e) => e.marker !== 'cert-authority' && entryMatches(e, name));
    const revoked = forHost.find((e) => e.marker === 'revoked' && e.blob.equals(keyBlob));
    const plain = forHost.filter((e) => e.marker === 'none');
    const rank = (e: Entry): number => (e.blob.equals(keyBlob) ? 0 : e.keyType === keyType ? 1 : 2);
    const sorted = plain.map((e, i) => ({ e, i })).sort((a, b) => rank(a.e) - rank(b.e) || a.i - b.i).map(({ e }) => e);
    const matches = sorted.map(toMatch);
    if (revoked) return { status: 'revoked', keyType, fingerprint, matches, revokedBy: toMatch(revoked) };
    if (sorted.length && rank(sorted[0]) === 0) return { status: 'known', keyType, fingerprint, matches };
    if (sorted.length && rank(sorted[0]) === 1) return { status: 'changed', keyType, fingerprint, matches };
    return { status: 'unknown', keyType, fingerprint, matches };
  }
}

/**
 * Appends `host keytype base64` (or `[host]:port ...`, or a hashed `|1|salt|hash ...` name) to a
 * known_hosts file, creating its directory (0700) and the file (0600) when needed, and starting on
 * a new line if the file doesn't end with one.
 */
export function appendKnownHost(file: string, host: string, port: number, keyBlob: Buffer, hashed: boolean): void {
  const keyType = keyTypeOf(keyBlob);
  const name = knownHostsName(host, port);
  let names = name;
  if (hashed) {
    const salt = crypto.randomBytes(20);
    names = `${HASH_MAGIC}${salt.toString('base64')}|${hashHostName(salt, name).toString('base64')}`;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  let prefix = '';
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      if (size > 0) {
        const last = Buffer.alloc(1);
        fs.readSync(fd, last, 0, 1, size - 1);
        if (last[0] !== 0x0a) prefix = '\n';
      }
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  fs.appendFileSync(file, `${prefix}${names} ${keyType} ${keyBlob.toString('base64')}\n`, { mode: 0o600 });
}

function shellQuote(s: string): string {
  return `"${s.replace(/(["\\$`])/g, '\\$1')}"`;
}

/** OpenSSH's "REMOTE HOST IDENTIFICATION HAS CHANGED" warning, with the previously known fingerprints. */
export function changedHostKeyWarning(host: string, port: number, check: HostKeyCheck): string {
  const label = knownHostsName(host, port);
  const type = sshKeyTypeLabel(check.keyType);
  const sameType = check.matches.filter((m) => m.keyType === check.keyType);
  const offending = sameType[0] ?? check.matches[0];
  const lines = [
    '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@',
    '@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @',
    '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@',
    'IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!',
    'Someone could be eavesdropping on you right now (man-in-the-middle attack)!',
    'It is also possible that a host key has just been changed.',
    `The fingerprint for the ${type} key sent by the remote host is`,
    `${check.fingerprint}.`,
  ];
  for (const m of sameType.length ? sameType : check.matches) {
    lines.push(`The previously known ${sshKeyTypeLabel(m.keyType)} key fingerprint (${m.file}:${m.line}) is ${m.fingerprint}.`);
  }
  lines.push('Please contact your system administrator.');
  if (offending) {
    lines.push(
      `Add correct host key in ${offending.file} to get rid of this message.`,
      `Offending ${sshKeyTypeLabel(offending.keyType)} key in ${offending.file}:${offending.line}`,
      '  remove with:',
      `  ssh-keygen -f ${shellQuote(offending.file)} -R ${shellQuote(label)}`,
    );
  }
  lines.push(`Host key for ${label} has changed and strict checking is always on for changed keys.`, 'Host key verification failed.');
  return lines.join('\n');
}

/** OpenSSH's "REVOKED HOST KEY DETECTED" message. */
export function revokedHostKeyMessage(host: string, port: number, check: HostKeyCheck): string {
  const label = knownHostsName(host, port);
  const type = sshKeyTypeLabel(check.keyType);
  const lines = [
    '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@',
    '@       WARNING: REVOKED HOST KEY DETECTED!               @',
    '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@',
    `The ${type} host key for ${label} is marked as revoked.`,
    'This could mean that a stolen key is being used to',
    'impersonate this host.',
    `The fingerprint for the ${type} key sent by the remote host is`,
    `${check.fingerprint}.`,
  ];
  if (check.revokedBy) lines.push(`Revoked by @revoked in ${check.revokedBy.file}:${check.revokedBy.line}`);
  lines.push('Host key verification failed.');
  return lines.join('\n');
}
