import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { utils as ssh2utils } from 'ssh2';
import {
  KnownHosts,
  appendKnownHost,
  changedHostKeyWarning,
  fingerprintSha256,
  keyTypeOf,
  knownHostsName,
  revokedHostKeyMessage,
  sshKeyTypeLabel,
} from '../../src/core/knownHosts';

// Real keys from OpenSSH's ssh-keygen, in a temp dir (never ~/.ssh). Every call passes an
// argument array: nothing goes through a shell.

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'knownhosts-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function keygen(args: string[]): string {
  return execFileSync('ssh-keygen', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

interface TestKey {
  name: string;
  pubFile: string;
  type: string;
  b64: string;
  blob: Buffer;
  /** "keytype base64" */
  text: string;
}

function makeKey(name: string, args: string[]): TestKey {
  const file = path.join(dir, name);
  keygen(['-q', '-N', '', '-C', `${name}@test`, '-f', file, ...args]);
  const pub = fs.readFileSync(`${file}.pub`, 'utf8').trim().split(' ');
  return { name, pubFile: `${file}.pub`, type: pub[0], b64: pub[1], blob: Buffer.from(pub[1], 'base64'), text: `${pub[0]} ${pub[1]}` };
}

const ED1 = makeKey('ed1', ['-t', 'ed25519']);
const ED2 = makeKey('ed2', ['-t', 'ed25519']);
const EC1 = makeKey('ec1', ['-t', 'ecdsa', '-b', '256']);
const EC3 = makeKey('ec3', ['-t', 'ecdsa', '-b', '384']);
const RSA = makeKey('rsa1', ['-t', 'rsa', '-b', '2048']);
const KEYS = [ED1, ED2, EC1, EC3, RSA];

let fileCounter = 0;
function writeFile(text: string): string {
  const f = path.join(dir, `known_hosts_${++fileCounter}`);
  fs.writeFileSync(f, text);
  return f;
}

/** `ssh-keygen -F name -f file`: "line[ MARKER]" for every line OpenSSH finds for that name. */
function keygenFind(file: string, name: string): string[] {
  let out: string;
  try {
    out = keygen(['-F', name, '-f', file]);
  } catch (err) {
    const e = err as { status?: number; stdout?: string };
    if (e.status === 1) return []; // not found
    throw err;
  }
  return [...out.matchAll(/^# Host .* found: line (\d+) ?(\S*)\s*$/gm)].map((m) => (m[2] ? `${m[1]} ${m[2]}` : m[1]));
}

function ourFind(kh: KnownHosts, host: string, port: number): string[] {
  return kh.lookup(host, port).map((m) => (m.marker === 'revoked' ? `${m.line} REVOKED` : m.marker === 'cert-authority' ? `${m.line} CA` : `${m.line}`));
}

// ---------------------------------------------------------------------------------------------

describe('fingerprints and key types agree with ssh-keygen -l', () => {
  for (const key of KEYS) {
    test(key.type + ' ' + key.name, () => {
      const out = keygen(['-l', '-E', 'sha256', '-f', key.pubFile]).trim();
      // "256 SHA256:xxxx ed1@test (ED25519)"
      const m = /^\d+ (SHA256:\S+) .* \((\S+)\)$/.exec(out);
      assert.ok(m, out);
      assert.equal(fingerprintSha256(key.blob), m[1]);
      assert.ok(!fingerprintSha256(key.blob).endsWith('='));
      assert.equal(keyTypeOf(key.blob), key.type);
      assert.equal(sshKeyTypeLabel(key.type), m[2]);
    });
  }

  test('ssh2 parses the same public key to the same blob', () => {
    for (const key of KEYS) {
      const parsed = ssh2utils.parseKey(`${key.text} comment`);
      assert.ok(!(parsed instanceof Error), String(parsed));
      const k = Array.isArray(parsed) ? parsed[0] : parsed;
      assert.ok(k.getPublicSSH().equals(key.blob));
    }
  });

  test('keyTypeOf refuses malformed blobs', () => {
    assert.throws(() => keyTypeOf(Buffer.alloc(0)), /too short/);
    assert.throws(() => keyTypeOf(Buffer.from([0, 0, 0, 50, 65])), /bad key type length/);
    assert.throws(() => keyTypeOf(Buffer.from([0, 0, 0, 2, 0, 1])), /not printable/);
  });

  test('knownHostsName: bare host for port 22, [host]:port otherwise, lower-cased', () => {
    assert.equal(knownHostsName('Example.COM', 22), 'example.com');
    assert.equal(knownHostsName('example.com', 2222), '[example.com]:2222');
    assert.equal(knownHostsName('::1', 2222), '[::1]:2222');
    assert.equal(knownHostsName('::1', 22), '::1');
  });
});

// ---------------------------------------------------------------------------------------------

describe('lookups agree with ssh-keygen -F', () => {
  const text = [
    '# a comment', //                                             1
    '', //                                                        2
    `foo,Bar ${ED1.text} plain list`, //                         3
    `[foo]:2222 ${EC1.text}`, //                                 4
    `*.example.com,!bad.example.com ${ED1.text}`, //             5
    `web?.example.org ${RSA.text}`, //                           6
    `@revoked * ${EC3.text}`, //                                 7
    `@cert-authority *.example.com ${ED2.text}`, //              8
    `[::1]:2222,::1 ${ED2.text}`, //                             9
    `[bar]:22 ${RSA.text}`, //                                  10
    `\tfoo\t${RSA.text}\r`, //                                  11
    `[*.wild]:* ${EC1.text}`, //                                12
  ].join('\n');
  const plain = writeFile(text);
  const hashed = writeFile(text);
  keygen(['-H', '-f', hashed]);
  const QUERIES: [string, number][] = [
    ['foo', 22], ['FOO', 22], ['bar', 22], ['foo', 2222], ['foo', 2223], ['a.example.com', 22], ['bad.example.com', 22],
    ['web1.example.org', 22], ['web12.example.org', 22], ['::1', 22], ['::1', 2222], ['x.wild', 99], ['nobody', 22],
  ];
  for (const file of [plain, hashed]) {
    const kh = new KnownHosts([file]);
    const label = file === plain ? 'plain' : 'hashed by ssh-keygen -H';
    test(`${label}: no problems`, () => assert.deepEqual(kh.problems, []));
    for (const [host, port] of QUERIES) {
      test(`${label}: ${knownHostsName(host, port)}`, () => {
        assert.deepEqual(ourFind(kh, host, port), keygenFind(file, knownHostsName(host, port)));
      });
    }
  }
  test('the hashed file really is hashed', () => {
    const t = fs.readFileSync(hashed, 'utf8');
    assert.match(t, /^\|1\|[A-Za-z0-9+/=]+\|[A-Za-z0-9+/=]+ ssh-ed25519 /m);
    assert.ok(!/^foo/m.test(t));
  });
});

// ---------------------------------------------------------------------------------------------

describe('check()', () => {
  test('known, with the matching line first', () => {
    const f = writeFile(`foo ${EC1.text}\nfoo ${ED1.text}\n`);
    const r = new KnownHosts([f]).check('foo', 22, ED1.blob);
    assert.equal(r.status, 'known');
    assert.equal(r.keyType, 'ssh-ed25519');
    assert.equal(r.fingerprint, fingerprintSha256(ED1.blob));
    assert.deepEqual(r.matches.map((m) => [m.file, m.line, m.keyType]), [[f, 2, 'ssh-ed25519'], [f, 1, 'ecdsa-sha2-nistp256']]);
  });

  test('changed: same type, different key', () => {
    const f = writeFile(`foo ${EC1.text}\nfoo ${ED1.text}\n`);
    const r = new KnownHosts([f]).check('foo', 22, ED2.blob);
    assert.equal(r.status, 'changed');
    assert.deepEqual(r.matches[0], { file: f, line: 2, keyType: 'ssh-ed25519', fingerprint: fingerprintSha256(ED1.blob) });
  });

  test('unknown: only keys of other types are recorded (like OpenSSH)', () => {
    const f = writeFile(`foo ${EC1.text}\nfoo ${RSA.text}\n`);
    const r = new KnownHosts([f]).check('foo', 22, ED1.blob);
    assert.equal(r.status, 'unknown');
    assert.deepEqual(r.matches.map((m) => m.keyType), ['ecdsa-sha2-nistp256', 'ssh-rsa']);
  });

  test('unknown: ECDSA P-384 is another type than P-256', () => {
    const f = writeFile(`foo ${EC1.text}\n`);
    assert.equal(new KnownHosts([f]).check('foo', 22, EC3.blob).status, 'unknown');
  });

  test('unknown: no entry, missing files are fine', () => {
    const r = new KnownHosts([path.join(dir, 'nope'), path.join(dir, 'nope', 'deeper')]).check('foo', 22, ED1.blob);
    assert.deepEqual(r, { status: 'unknown', keyType: 'ssh-ed25519', fingerprint: fingerprintSha256(ED1.blob), matches: [] });
  });

  test('@revoked wins, even over a known line', () => {
    const f1 = writeFile(`foo ${ED1.text}\n`);
    const f2 = writeFile(`# global\n@revoked *.example.com,foo ${ED1.text}\n`);
    const r = new KnownHosts([f1, f2]).check('foo', 22, ED1.blob);
    assert.equal(r.status, 'revoked');
    assert.deepEqual(r.revokedBy, { file: f2, line: 2, keyType: 'ssh-ed25519', fingerprint: fingerprintSha256(ED1.blob) });
    assert.equal(new KnownHosts([f1, f2]).check('other', 22, ED1.blob).status, 'unknown', '@revoked applies to the hosts its line names');
    assert.equal(new KnownHosts([f1, f2]).check('foo', 22, ED2.blob).status, 'changed', 'a revoked key does not revoke others');
  });

  test('@cert-authority lines are skipped', () => {
    const f = writeFile(`@cert-authority * ${ED1.text}\n`);
    const kh = new KnownHosts([f]);
    assert.deepEqual(kh.problems, []);
    assert.equal(kh.check('foo', 22, ED1.blob).status, 'unknown');
  });

  test('[host]:port: port 22 is the bare name, others are bracketed', () => {
    const f = writeFile(`[foo]:2222 ${ED1.text}\n[bar]:22 ${ED1.text}\n[::1]:2200 ${ED1.text}\n`);
    const kh = new KnownHosts([f]);
    assert.equal(kh.check('foo', 2222, ED1.blob).status, 'known');
    assert.equal(kh.check('foo', 22, ED1.blob).status, 'unknown');
    assert.equal(kh.check('bar', 22, ED1.blob).status, 'unknown', 'ssh never looks up [bar]:22');
    assert.equal(kh.check('::1', 2200, ED1.blob).status, 'known');
  });

  test('patterns, negation, case-insensitive names', () => {
    const f = writeFile(`*.example.com,!bad.example.com ${ED1.text}\nweb? ${EC1.text}\n`);
    const kh = new KnownHosts([f]);
    assert.equal(kh.check('A.Example.Com', 22, ED1.blob).status, 'known');
    assert.equal(kh.check('bad.example.com', 22, ED1.blob).status, 'unknown');
    assert.equal(kh.check('web1', 22, EC1.blob).status, 'known');
    assert.equal(kh.check('web12', 22, EC1.blob).status, 'unknown');
  });

  test('hashed lines written by ssh-keygen -H, with several key types', () => {
    const f = writeFile(`h1 ${ED1.text}\nh1 ${EC1.text}\n[h1]:2222 ${RSA.text}\n`);
    keygen(['-H', '-f', f]);
    const kh = new KnownHosts([f]);
    assert.equal(kh.check('h1', 22, ED1.blob).status, 'known');
    assert.equal(kh.check('h1', 22, EC1.blob).status, 'known');
    assert.equal(kh.check('h1', 22, ED2.blob).status, 'changed');
    assert.equal(kh.check('h1', 22, RSA.blob).status, 'unknown');
    assert.equal(kh.check('h1', 2222, RSA.blob).status, 'known');
    assert.equal(kh.check('h2', 22, ED1.blob).status, 'unknown');
  });

  test('matches from several files carry their file', () => {
    const f1 = writeFile(`foo ${EC1.text}\n`);
    const f2 = writeFile(`foo ${ED1.text}\n`);
    const r = new KnownHosts([f1, f2]).check('foo', 22, ED2.blob);
    assert.equal(r.status, 'changed');
    assert.deepEqual(r.matches.map((m) => [m.file, m.line]), [[f2, 1], [f1, 1]]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('known_hosts lines: good and bad (table)', () => {
  const GOOD: string[] = [
    '# only a comment',
    '',
    '   ',
    `foo ${ED1.text}`,
    `foo ${ED1.text} a comment with spaces`,
    `\t  foo\t${ED1.text}\t`,
    `foo ${ED1.text}\r`,
    `@revoked foo ${ED1.text}`,
    `@cert-authority *.example.com ${ED1.text}`,
    `foo,bar,[baz]:2222,192.0.2.1 ${RSA.text}`,
  ];
  for (const line of GOOD) {
    test(`good: ${JSON.stringify(line.slice(0, 50))}`, () => {
      const kh = new KnownHosts([writeFile(`${line}\n`)]);
      assert.deepEqual(kh.problems, []);
    });
  }
  const ED1_AS_RSA = `ssh-rsa ${ED1.b64}`;
  const BAD: [string, RegExp][] = [
    ['foo', /Malformed line.*got 1 field/],
    ['foo ssh-ed25519', /Malformed line.*got 2 field/],
    ['foo ssh-ed25519 !!!notbase64', /not base64/],
    ['foo ssh-ed25519 AAAA', /Malformed ssh-ed25519 key: Malformed SSH key blob/],
    [`foo ${ED1_AS_RSA}`, /Key type mismatch: the line says ssh-rsa but the key is ssh-ed25519/],
    [`@bogus foo ${ED1.text}`, /Unknown marker "@bogus"/],
    [`@revoked ${ED1.text}`, /Malformed line/],
    [`|1|abc|def ${ED1.text}`, /Malformed hashed host name/],
    [`|1|onlysalt ${ED1.text}`, /Malformed hashed host name/],
    [`|2|x|y ${ED1.text}`, /Unsupported hashed host name format "\|2\|\.\.\."/],
    ['foo 1024 35 1234567', /SSH protocol 1 RSA key/],
  ];
  for (const [line, message] of BAD) {
    test(`bad: ${JSON.stringify(line.slice(0, 50))}`, () => {
      const f = writeFile(`# header\nok ${ED2.text}\n${line}\nok2 ${ED2.text}\n`);
      const kh = new KnownHosts([f]);
      assert.equal(kh.problems.length, 1, JSON.stringify(kh.problems));
      assert.deepEqual([kh.problems[0].file, kh.problems[0].line], [f, 3]);
      assert.match(kh.problems[0].message, message);
      assert.equal(kh.check('ok2', 22, ED2.blob).status, 'known', 'lines after a bad one still count');
    });
  }
});

// ---------------------------------------------------------------------------------------------

describe('appendKnownHost', () => {
  test('creates the directory (0700) and file (0600); OpenSSH finds the plain and [host]:port lines', () => {
    const file = path.join(dir, 'newhome', '.ssh', 'known_hosts');
    appendKnownHost(file, 'Server.Example.com', 22, ED1.blob, false);
    appendKnownHost(file, 'server.example.com', 2222, EC1.blob, false);
    appendKnownHost(file, '::1', 2200, RSA.blob, false);
    if (process.platform !== 'win32') {
      assert.equal(fs.statSync(path.dirname(file)).mode & 0o777, 0o700);
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    }
    assert.equal(
      fs.readFileSync(file, 'utf8'),
      `server.example.com ${ED1.text}\n[server.example.com]:2222 ${EC1.text}\n[::1]:2200 ${RSA.text}\n`,
    );
    assert.deepEqual(keygenFind(file, 'server.example.com'), ['1']);
    assert.deepEqual(keygenFind(file, '[server.example.com]:2222'), ['2']);
    assert.deepEqual(keygenFind(file, '[::1]:2200'), ['3']);
    const kh = new KnownHosts([file]);
    assert.equal(kh.check('server.example.com', 22, ED1.blob).status, 'known');
    assert.equal(kh.check('server.example.com', 2222, EC1.blob).status, 'known');
    // ssh-keygen -l reads every line back.
    assert.equal(keygen(['-l', '-f', file]).trim().split('\n').length, 3);
  });

  test('hashed lines are found by ssh-keygen -F and by us', () => {
    const file = writeFile('');
    appendKnownHost(file, 'secret.example.com', 22, ED1.blob, true);
    appendKnownHost(file, 'secret.example.com', 2222, ED2.blob, true);
    const text = fs.readFileSync(file, 'utf8');
    assert.ok(!text.includes('secret'), text);
    assert.match(text, /^\|1\|[A-Za-z0-9+/]{27}=\|[A-Za-z0-9+/]{27}= ssh-ed25519 /);
    assert.deepEqual(keygenFind(file, 'secret.example.com'), ['1']);
    assert.deepEqual(keygenFind(file, '[secret.example.com]:2222'), ['2']);
    const kh = new KnownHosts([file]);
    assert.equal(kh.check('secret.example.com', 22, ED1.blob).status, 'known');
    assert.equal(kh.check('secret.example.com', 2222, ED2.blob).status, 'known');
    assert.equal(kh.check('secret.example.com', 2222, ED1.blob).status, 'changed');
  });

  test('adds a newline first when the file does not end with one', () => {
    const file = writeFile(`# no newline at the end`);
    appendKnownHost(file, 'foo', 22, ED1.blob, false);
    assert.equal(fs.readFileSync(file, 'utf8'), `# no newline at the end\nfoo ${ED1.text}\n`);
    const kh = new KnownHosts([file]);
    assert.deepEqual(kh.problems, []);
    assert.equal(kh.check('foo', 22, ED1.blob).status, 'known');
  });

  test('refuses a malformed key blob', () => {
    assert.throws(() => appendKnownHost(path.join(dir, 'x'), 'foo', 22, Buffer.from('junk'), false), /Malformed SSH key blob/);
  });
});

// ---------------------------------------------------------------------------------------------

describe('OpenSSH messages', () => {
  test('changed key: the warning block, both fingerprints, the offending line and a fix that works', () => {
    const file = writeFile(`# header\n[server]:2222 ${ED1.text}\nother ${ED1.text}\n`);
    const check = new KnownHosts([file]).check('server', 2222, ED2.blob);
    assert.equal(check.status, 'changed');
    const msg = changedHostKeyWarning('server', 2222, check);
    assert.ok(msg.startsWith('@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n'), msg);
    assert.ok(msg.includes('IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!'));
    assert.ok(msg.includes(`The fingerprint for the ED25519 key sent by the remote host is\n${fingerprintSha256(ED2.blob)}.`), msg);
    assert.ok(msg.includes(fingerprintSha256(ED1.blob)), 'the previously known fingerprint');
    assert.ok(msg.includes(`Offending ED25519 key in ${file}:2`), msg);
    const fix = /^ {2}ssh-keygen -f "([^"]+)" -R "([^"]+)"$/m.exec(msg);
    assert.ok(fix, msg);
    assert.deepEqual([fix[1], fix[2]], [file, '[server]:2222']);
    // Run the suggested fix (as an argument array) and the key is no longer recorded.
    keygen(['-f', fix[1], '-R', fix[2]]);
    const after = new KnownHosts([file]);
    assert.equal(after.check('server', 2222, ED2.blob).status, 'unknown');
    assert.equal(after.check('other', 22, ED1.blob).status, 'known', 'other hosts are kept');
  });

  test('changed key on port 22 suggests the bare host name', () => {
    const file = writeFile(`plain ${EC1.text}\n`);
    const check = new KnownHosts([file]).check('plain', 22, makeKey('ec4', ['-t', 'ecdsa', '-b', '256']).blob);
    const msg = changedHostKeyWarning('plain', 22, check);
    assert.ok(msg.includes(`-R "plain"`), msg);
    assert.ok(msg.includes('The fingerprint for the ECDSA key sent by the remote host is'), msg);
  });

  test('revoked key', () => {
    const file = writeFile(`@revoked * ${RSA.text}\n`);
    const check = new KnownHosts([file]).check('srv', 2200, RSA.blob);
    const msg = revokedHostKeyMessage('srv', 2200, check);
    assert.ok(msg.includes('@       WARNING: REVOKED HOST KEY DETECTED!               @'), msg);
    assert.ok(msg.includes('The RSA host key for [srv]:2200 is marked as revoked.'), msg);
    assert.ok(msg.includes('This could mean that a stolen key is being used to\nimpersonate this host.'), msg);
    assert.ok(msg.includes(fingerprintSha256(RSA.blob)));
    assert.ok(msg.includes(`${file}:1`));
  });
});

// ---------------------------------------------------------------------------------------------

describe('never throws on garbage', () => {
  const file = path.join(dir, 'fuzz_known_hosts');
  const piece = fc.oneof(
    fc.string({ maxLength: 20 }),
    fc.constantFrom('@revoked', '@cert-authority', '|1|', '|', '[', ']:', ',', '!', '*', ED1.text, ED1.b64, 'ssh-ed25519', 'AAAA', '#', '\t', ' '),
  );
  const line = fc.array(piece, { maxLength: 6 }).map((parts) => parts.join(' '));
  test('random lines', () => {
    fc.assert(
      fc.property(fc.array(line, { maxLength: 20 }), fc.string({ maxLength: 20 }), fc.integer({ min: 0, max: 70000 }), (lines, host, port) => {
        fs.writeFileSync(file, lines.join('\n'));
        const kh = new KnownHosts([file]);
        const r = kh.check(host, port, ED1.blob);
        assert.ok(['known', 'unknown', 'changed', 'revoked'].includes(r.status));
        kh.lookup(host, port);
        changedHostKeyWarning(host, port, r);
        revokedHostKeyMessage(host, port, r);
      }),
      { numRuns: 500 },
    );
  });
  test('random bytes, and random key blobs', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 40 }), (bytes, blob) => {
        fs.writeFileSync(file, bytes);
        const kh = new KnownHosts([file]);
        kh.check('foo', 22, Buffer.from(blob));
      }),
      { numRuns: 300 },
    );
  });
});
