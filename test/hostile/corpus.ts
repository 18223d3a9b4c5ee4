/**
 * Hostile input for the parsers, pure and fast (no sshd): a corpus of bad forward specs, ssh
 * commands, ssh config files (unterminated quotes, Include loops and chains, a 5 MB file, binary
 * junk, bad values, Match blocks) and known_hosts lines, plus fast-check properties (parse → format
 * → parse is stable; nothing throws anything but the parser's own error). Every bad input must give
 * a message that names the problem (and, for files, the line); nothing may crash.
 *
 * Registered by test/unit/hostileInput.test.ts (so `npm test` runs it) and by
 * test/hostile/inputs.test.ts (so `npm run test:faults` counts it in its figures).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { ForwardSpecError, formatForwardFlag, formatForwardSpec, parseForwardArgument, parseForwardSpec, parseSshCommand } from '../../src/core/forwardSpec';
import { KnownHosts } from '../../src/core/knownHosts';
import { Log } from '../../src/core/log';
import type { ForwardSpec, Prompter } from '../../src/core/model';
import { SocksError, readSocksRequest } from '../../src/core/socks';
import { DestinationError, loadSshConfig, parseDestination } from '../../src/core/sshConfig';
import { TunnelError } from '../../src/core/errors';
import { TunnelManager } from '../../src/core/tunnelManager';
import { seededRandom } from '../faults/util';

/** What a caller counts (figures); all optional. */
export interface Counter {
  badInputs(n?: number): void;
  note(key: string, value: string | number): void;
}

// ------------------------------------------------------------------------------ forward specs

export const BAD_FORWARD_SPECS: string[] = [
  '', ' ', '\t', '-L', '-L ', '-R', '-D', '-X 80:a:80', 'L', 'R', 'D', '--L 80:h:80', '-l 80:h:80', '-L 80', '-L 80:host',
  '-L 80:h:80:extra', '-L a:b:c:d:e', '-L 65536:h:80', '-L 99999:h:1', '-L -1:h:80', '-L 80:h:0', '-L 80:h:65536',
  '-L abc:h:80', '-L 80:h:http', '-L 80::80', '-L 80:h:', '-L :h:80', '-L [::1:80:h:80', '-L [::1]80:h:80',
  '-L 80:[fe80::1:80', '-L 80:[]:80', '-L 1.5:h:80', '-L 0x50:h:80', '-L 80:h:80 extra words', '-L 80:h:80 x y',
  '-D abc', '-D 1080:host:80', '-D 70000', '-D -5', '-D :', '-D [::1]', '-D [::1]:', '-R abc', '-R 80:h', '-R 80:h:0',
  '-R 80:h:99999', '-R ::', '-L /tmp/sock:h:80', '-L 80:/tmp/sock', '-R /tmp/s:h:80', '-D /tmp/s', '-L 80:h:80\0',
  '-L ８０:h:80', '-L 80:h:８０', '-L "80:h:80', "-L '80:h:80", '-L 80:h:80\\', '-L 99999999999999999999:h:80',
  '-L 1e3:h:80', '-L +80:h:80', '-L 80:h:+80', '-L 80:h:8 0', 'LocalForward', 'LocalForward=', 'DynamicForward a b c',
  'Foo 80:h:80', 'ssh -L 80:h:80 host', 'L'.repeat(100_000), `-L ${'1'.repeat(10_000)}:h:80`, `-L 80:h:${'9'.repeat(5000)}`,
  '-L 80:[::1]]:80', '-L [[::1]]:80:h:80', '-L 80:h:80:', '-L ::80:h:80', '-L 80:h/80', '-L [::1]/80:h:80',
  '-L 80:h:80 90:i:90', '-L 80:h:-1', '-D 0.5', '-L 80: h:80', '-L 80 :h:80', '-L 80:h :80', '-L 80:h:80;rm -rf /',
  '-L $(id):h:80', '-L `id`:h:80', '-L 80:h:$PORT', '-L %d:h:80', '-Lhttp:h:80', '-L 80:h:80,81', '-L 8080-8090:h:80',
  '-L 0:h:0', '-R 0:h:0',
];

export const BAD_SSH_COMMANDS: string[] = [
  '', 'ssh', 'ssh -L', 'ssh -L 80:h:80', 'scp -L 80:h:80 host', 'sftp host', 'ssh -o', 'ssh -p', 'ssh -p abc host',
  'ssh -p 70000 host', 'ssh -L 99999:h:80 host', 'ssh -D abc host', 'ssh -R 80:h host', "ssh 'host", 'ssh "host',
  'ssh -L 80:h:80 -D x host', 'ssh -Z host', 'ssh -L /tmp/s:h:1 host', 'ssh host\\', 'ssh -J', 'ssh -i', 'ssh -F',
  'ssh -l', 'ssh -- ', 'rm -rf / ; ssh host', '$(ssh host)', 'ssh -Lhttp:h:80 host',
];

// ------------------------------------------------------------------------------ ssh config files

export interface ConfigCase {
  name: string;
  /** Files under a fresh home's .ssh/; `config` is the main file. Buffers are written as they are. */
  files: Record<string, string | Buffer>;
  /** A problem message must match (undefined: accepted silently by design; only "no crash, nothing else lost"). */
  expect?: RegExp;
  /** ... on this line of `config` (1-based; 0 for the whole file). */
  line?: number;
  /** The good host appended to `config` is expected to be lost too (the file is refused as a whole). */
  wholeFileRefused?: boolean;
}

const GOOD_HOST = '\nHost good\n  HostName good.example\n  Port 2222\n  User gooduser\n';

function c(name: string, config: string | Buffer, expect: RegExp | undefined, line?: number, extra: Record<string, string | Buffer> = {}, wholeFileRefused = false): ConfigCase {
  return { name, files: { config, ...extra }, expect, line, wholeFileRefused };
}

function junk(seed: number, size: number): Buffer {
  const r = seededRandom(seed);
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = Math.floor(r() * 256);
  return b;
}

function buildConfigCases(): ConfigCase[] {
  const cases: ConfigCase[] = [];
  // Unterminated quotes, for every kind of keyword.
  for (const [kw, v] of [['HostName', '"foo'], ['User', "'bob"], ['IdentityFile', '"~/.ssh/id'], ['Port', '"22'], ['ProxyJump', '"jump'],
    ['LocalForward', '"80 h:80'], ['UserKnownHostsFile', '"~/kh'], ['IdentityAgent', '"/tmp/a'], ['HostKeyAlias', '"x'], ['SendEnv', '"LANG']] as const) {
    cases.push(c(`unterminated quote in ${kw}`, `Host a\n  ${kw} ${v}\n`, new RegExp(`${kw}: unterminated quote`), 2));
  }
  cases.push(c('unterminated quote in Host', 'Host "a b\n  Port 2\n', /Host: unterminated quote/, 1));
  cases.push(c('unterminated quote in Match', 'Match host "a\n  Port 2\n', /Match: unterminated quote/, 1));
  cases.push(c('unterminated quote in Include', 'Include "x\n', /Include: unterminated quote/, 1));
  // Bad values.
  const bad: [string, RegExp][] = [
    ['Port 0', /Bad port '0'/], ['Port 65536', /Bad port '65536'/], ['Port abc', /Bad port 'abc'/], ['Port -1', /Bad port '-1'/],
    ['Port 22 23', /extra arguments/], ['Port=abc', /Bad port 'abc'/], ['StrictHostKeyChecking maybe', /StrictHostKeyChecking: unsupported option "maybe"/],
    ['IdentitiesOnly perhaps', /IdentitiesOnly: unsupported option "perhaps"/], ['GatewayPorts sometimes', /GatewayPorts: unsupported option/],
    ['ServerAliveInterval x', /ServerAliveInterval: invalid time value "x"/], ['ServerAliveInterval 99999999999', /invalid time value/],
    ['ServerAliveCountMax -1', /ServerAliveCountMax: bad integer "-1"/], ['ConnectTimeout forever', /ConnectTimeout: invalid time value "forever"/],
    ['ProxyJump ,', /Invalid ProxyJump ",": empty hop/], ['ProxyJump a,,b', /empty hop/], ['ProxyJump @', /Invalid ProxyJump "@"/],
    ['ProxyJump user@:22', /missing host name/], ['LocalForward x', /Bad forwarding specification in LocalForward "x"/],
    ['RemoteForward 70000 h:1', /Bad forwarding specification in RemoteForward/], ['DynamicForward abc', /Bad forwarding specification in DynamicForward/],
    ['LocalForward 80 h:http', /Bad forwarding specification/], ['HostName %x.example', /unknown token %x/], ['HostName a%', /"%" at the end/],
    ['IdentityFile ~/.ssh/%q', /IdentityFile: unknown token %q/], ['HostName two words', /extra arguments at end of line/],
    ['User a b', /extra arguments/], ['CanonicalizeHostname often', /CanonicalizeHostname: unsupported option "often"/],
    ['ExitOnForwardFailure 2', /ExitOnForwardFailure: unsupported option "2"/], ['HashKnownHosts maybe', /HashKnownHosts: unsupported option/],
    ['ClearAllForwardings sure', /ClearAllForwardings: unsupported option/],
  ];
  for (const [line, re] of bad) cases.push(c(`bad value: ${line}`, `Host a\n  ${line}\n`, re, 2));
  // Keywords without a value, malformed lines.
  for (const line of ['HostName', 'Port =', 'User #comment', 'IdentityFile ""']) cases.push(c(`no value: ${line}`, `Host a\n  ${line}\n`, /no argument after keyword/, 2));
  cases.push(c('no value: Host', 'Host\n', /no argument after keyword "Host"/, 1));
  cases.push(c('malformed: = value', '= value\n', /Malformed line/, 1));
  cases.push(c('malformed: ===', '===\n', /Malformed line/, 1));
  cases.push(c('Host pattern with a comma', 'Host a,b\n  Port 2\n', /contains a comma: ssh separates Host patterns with spaces/, 1));
  // Match blocks.
  const match: [string, RegExp][] = [
    ['Match', /no argument after keyword "Match"/], ['Match foo bar', /Unsupported Match attribute "foo"/], ['Match host', /Match host: missing argument/],
    ['Match all host x', /'all' cannot be combined/], ['Match exec "true"', /Match exec is not evaluated \(nothing is ever run\)/],
    ['Match localnetwork 10.0.0.0/8', /Match localnetwork is not evaluated/], ['Match !', /Unsupported Match attribute "!"/],
    ['Match tagged x', /Match tagged is not evaluated/], ['Match user', /Match user: missing argument/], ['Match canonical bogus', /Unsupported Match attribute "bogus"/],
  ];
  for (const [line, re] of match) cases.push(c(`match: ${line}`, `${line}\n  Port 2\n`, re, 1));
  // Include: loops, chains, things that are not files.
  cases.push(c('Include itself', 'Include config\n', /Include loop/, 1));
  cases.push(c('Include loop a → b → a', 'Include a\n', /Include loop/, undefined, { a: 'Include b\n', b: 'Include a\n' }));
  cases.push(c('Include * (includes itself)', 'Include *\n', /Include loop/, 1));
  const chain: Record<string, string> = {};
  for (let i = 0; i < 20; i++) chain[`inc${i}`] = `Include inc${i + 1}\nHost h${i}\n  Port ${1000 + i}\n`;
  chain.inc20 = 'Host deepest\n  Port 9999\n';
  cases.push(c('Include chain 20 deep', 'Include inc0\n', /Too many recursive configuration includes/, undefined, chain));
  cases.push(c('Include a missing file', 'Include no-such-file\n', /Include .*no-such-file: no such file/, 1));
  cases.push(c('Include a directory', 'Include adir\n', /Include .*adir: cannot read it/, 1, { 'adir/.keep': '' }));
  cases.push(c('Include /dev/zero', 'Include /dev/zero\n', /Include \/dev\/zero: cannot read it: .*not a regular file/, 1));
  cases.push(c('Include /dev/stdin', 'Include /dev/stdin\n', /Include \/dev\/stdin: cannot read it/, 1));
  cases.push(c('Include with an unset variable', 'Include ${HOSTILE_NO_SUCH_VAR}/x\n', /environment variable \$\{HOSTILE_NO_SUCH_VAR\} is not set/, 1));
  cases.push(c('Include of a binary file', 'Include bin\n', /no argument after keyword|Malformed line/, undefined, { bin: Buffer.from([1, 2, 3, 10, 0xff, 0xfe, 10, 0x1b, 0x5b, 0x32, 0x4a, 10]) }));
  // Size and binary junk.
  cases.push(c('5 MB file', Buffer.alloc(5 * 1024 * 1024, 'Host a\n  Port 2\n'), /larger than \d+ bytes/, 0, {}, true));
  cases.push(c('5 MB single line', Buffer.alloc(5 * 1024 * 1024, 'a'), /larger than \d+ bytes/, 0, {}, true));
  cases.push(c('control characters', Buffer.from('\x01\x02\x03\n'), /no argument after keyword/, 1));
  cases.push(c('escape sequences', Buffer.from('\x1b[2J\x1b[31m\n'), /no argument after keyword/, 1));
  cases.push(c('a NUL byte ends the line (like ssh)', Buffer.from('Port\0 22\n'), /no argument after keyword "Port"/, 1));
  cases.push(c('UTF-16 file', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('Host a\n', 'utf16le')]), /no argument after keyword/, 1));
  cases.push(c('CRLF with a bad port', 'Host a\r\n  Port abc\r\n', /Bad port 'abc'/, 2));
  for (const seed of [1, 2, 3, 4, 5, 6]) cases.push(c(`random bytes #${seed}`, junk(seed, 4096), /no argument after keyword|Malformed line|unterminated quote|Bad|Unsupported|extra arguments|unknown token|Invalid/));
  // Unknown keywords: accepted silently by design (future OpenSSH keywords); must not disturb the rest.
  for (const line of ['Hostnmae typo.example', 'Prot 22', 'xyzzy 12', 'UseKeychain yes', 'SomeFutureKeyword value', '\u00e9t\u00e9 1']) {
    cases.push(c(`unknown keyword: ${line}`, `Host a\n  ${line}\n`, undefined));
  }
  return cases;
}

export const BAD_CONFIGS: ConfigCase[] = buildConfigCases();

// ------------------------------------------------------------------------------ known_hosts lines

function sshString(b: Buffer | string): Buffer {
  const data = typeof b === 'string' ? Buffer.from(b) : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length, 0);
  return Buffer.concat([len, data]);
}

/** A syntactically valid ssh-ed25519 public key blob (32 bytes of `fill`). */
export function ed25519Blob(fill: number): Buffer {
  return Buffer.concat([sshString('ssh-ed25519'), sshString(Buffer.alloc(32, fill))]);
}

export interface KnownHostsCase { line: string; expect: RegExp }

function buildKnownHostsCases(): KnownHostsCase[] {
  const key = ed25519Blob(7).toString('base64');
  const h20 = Buffer.alloc(20, 1).toString('base64');
  const cases: KnownHostsCase[] = [];
  const add = (line: string, expect: RegExp): void => { cases.push({ line, expect }); };
  for (const host of ['host', '[host]:2222', 'a,b,c', '*.example.com', '!bad,*']) {
    add(`${host}`, /Malformed line: expected "hostnames keytype base64-key", got 1 field/);
    add(`${host} ssh-ed25519`, /got 2 field/);
    add(`${host} ssh-ed25519 !!!notbase64`, /Malformed ssh-ed25519 key: not base64/);
    add(`${host} ssh-ed25519 AAAA`, /Malformed ssh-ed25519 key: .*too short|bad key type length/);
    add(`${host} ssh-rsa ${key}`, /Key type mismatch: the line says ssh-rsa but the key is ssh-ed25519/);
    add(`${host} 1024 35 1234567890`, /SSH protocol 1 RSA key/);
    add(`@bogus ${host} ssh-ed25519 ${key}`, /Unknown marker "@bogus"/);
    add(`@revoked ${host}`, /got 1 field/);
    add(`${host} ssh-ed25519 ${key.slice(0, -3)}===`, /not base64|Malformed/);
  }
  add(`host ssh-ed25519 ${sshString('').toString('base64')}`, /bad key type length/);
  add(`host ssh-ed25519 ${Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0xff]), Buffer.from('x')]).toString('base64')}`, /bad key type length/);
  add(`host ssh-ed25519 ${sshString(Buffer.from([1, 2, 3])).toString('base64')}`, /key type is not printable/);
  add(`host ssh-ed25519 ${sshString('ssh ed25519').toString('base64')}`, /not printable|mismatch/);
  add(`|1|abc|def ssh-ed25519 ${key}`, /Malformed hashed host name/);
  add(`|1|${h20} ssh-ed25519 ${key}`, /Malformed hashed host name/);
  add(`|1|${h20}|${Buffer.alloc(19).toString('base64')} ssh-ed25519 ${key}`, /Malformed hashed host name/);
  add(`|1|${h20}|${h20}|x ssh-ed25519 ${key}`, /Malformed hashed host name/);
  add(`|2|${h20}|${h20} ssh-ed25519 ${key}`, /Unsupported hashed host name format "\|2\|/);
  add(`| ssh-ed25519 ${key}`, /Unsupported hashed host name format|Malformed hashed/);
  add(`@REVOKED host ssh-ed25519 ${key}`, /Unknown marker "@REVOKED"/);
  add(`@ host ssh-ed25519 ${key}`, /Unknown marker "@"/);
  add(`@cert-authority`, /got 0 field|Malformed line/);
  add(`host ssh-ed25519 ${'A'.repeat(100_001)}`, /Malformed ssh-ed25519 key/);
  add(`${'h'.repeat(100_000)} ssh-ed25519 AAAA`, /Malformed ssh-ed25519 key/);
  add(`host \u0000 ${key}`, /Key type mismatch|Malformed/);
  add(`host ssh-ed25519 ${key.replace(/A/g, 'é')}`, /not base64/);
  add(`host\u00a0ssh-ed25519\u00a0${key}`, /got 1 field/);
  return cases;
}

export const BAD_KNOWN_HOSTS: KnownHostsCase[] = buildKnownHostsCases();

// ------------------------------------------------------------------------------ the tests

const noPrompter: Prompter = {
  password: async () => undefined,
  passphrase: async () => undefined,
  keyboardInteractive: async () => undefined,
  confirmHostKey: async () => false,
};

function forwardSpecArb(): fc.Arbitrary<ForwardSpec> {
  const port = fc.integer({ min: 1, max: 65535 });
  const host = fc.oneof(
    fc.stringMatching(/^[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9-]{0,10}){0,3}$/),
    fc.ipV4(),
    fc.constantFrom('::1', 'fe80::1', '2001:db8::42', 'localhost'),
  );
  const bind = fc.option(fc.oneof(fc.constantFrom('127.0.0.1', 'localhost', '::1', '*', '0.0.0.0'), fc.ipV4()), { nil: undefined });
  return fc.oneof(
    fc.record({ kind: fc.constant('local' as const), bindAddress: bind, bindPort: fc.integer({ min: 0, max: 65535 }), targetHost: host, targetPort: port }),
    fc.record({ kind: fc.constant('remote' as const), bindAddress: bind, bindPort: fc.integer({ min: 0, max: 65535 }), targetHost: host, targetPort: port }),
    fc.record({ kind: fc.constant('dynamic' as const), bindAddress: bind, bindPort: fc.integer({ min: 0, max: 65535 }) }),
  ).map((s) => {
    const out: ForwardSpec = { ...s };
    if (out.bindAddress === undefined) delete out.bindAddress;
    return out;
  });
}

/** Strings with the characters parsers care about over-represented. */
function hostileString(maxLength = 80): fc.Arbitrary<string> {
  const special = fc.constantFrom(':', '[', ']', '"', "'", '\\', ' ', '\t', '\n', '\r', '\0', '-', '=', '#', '%', '$', '{', '}', '*', '?', '!', ',', '@', '/', '|', ';', '`');
  return fc.array(fc.oneof({ weight: 3, arbitrary: special }, { weight: 3, arbitrary: fc.string({ maxLength: 4 }) }, { weight: 1, arbitrary: fc.integer({ min: -2, max: 70000 }).map(String) }, { weight: 1, arbitrary: fc.constantFrom('-L', '-R', '-D', 'Host', 'Match', 'Include', 'Port', 'ssh', 'localhost', '::1') }), { maxLength }).map((a) => a.join(''));
}

/** Registers the hostile-input tests; `counter` receives figures. */
export function defineHostileInputTests(counter?: Counter): void {
  const count = (n = 1): void => counter?.badInputs(n);
  let home: string;
  before(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'sshtunnels-hostile-'));
  });
  after(() => {
    fs.rmSync(home, { recursive: true, force: true });
  });

  describe('hostile forward specs and ssh commands', () => {
    test(`${BAD_FORWARD_SPECS.length} bad forward specs: each refused with a message naming the problem and an example`, () => {
      for (const input of BAD_FORWARD_SPECS) {
        assert.throws(() => parseForwardArgument(input), (err: unknown) => {
          assert.ok(err instanceof ForwardSpecError, `${JSON.stringify(input.slice(0, 60))}: threw ${String(err)}`);
          const [problem, example] = err.message.split('. Example: ');
          assert.ok(problem && problem.length >= 10, `${JSON.stringify(input.slice(0, 60))}: the message says what is wrong: ${err.message}`);
          assert.match(example ?? '', /^(-[LRD] |ssh )/, `${JSON.stringify(input.slice(0, 60))}: a valid example: ${err.message}`);
          assert.ok(err.message.length < 2000, 'the message stays readable (huge inputs are not echoed whole)');
          return true;
        }, JSON.stringify(input.slice(0, 60)));
        count();
      }
    });

    test('the same bad specs through the tunnel manager: a BAD_SPEC error, no forward, no connection', async () => {
      const manager = new TunnelManager({ log: new Log('error'), prompter: noPrompter, configFile: path.join(home, 'none'), homeDir: home });
      try {
        for (const input of BAD_FORWARD_SPECS.filter((s) => /^-[LRD]/.test(s))) {
          await assert.rejects(manager.addForward({ host: 'somewhere', spec: input, start: false }), (err: unknown) => {
            assert.ok(err instanceof TunnelError, String(err));
            assert.equal(err.code, 'BAD_SPEC');
            return true;
          }, JSON.stringify(input.slice(0, 60)));
          count();
        }
        assert.deepEqual(manager.snapshot().hosts.flatMap((h) => h.forwards), []);
      } finally {
        await manager.dispose();
      }
    });

    test(`${BAD_SSH_COMMANDS.length} bad ssh commands: each refused with a message`, () => {
      for (const input of BAD_SSH_COMMANDS) {
        assert.throws(() => parseSshCommand(input), (err: unknown) => {
          assert.ok(err instanceof ForwardSpecError, `${JSON.stringify(input)}: threw ${String(err)}`);
          assert.match(err.message, /\S{3,}.*Example: /s);
          return true;
        }, JSON.stringify(input));
        count();
      }
    });
  });

  describe('hostile ssh config files', () => {
    for (const cs of BAD_CONFIGS) {
      test(cs.name, () => {
        const dir = fs.mkdtempSync(path.join(home, 'cfg-'));
        const sshDir = path.join(dir, '.ssh');
        fs.mkdirSync(sshDir);
        for (const [name, content] of Object.entries(cs.files)) {
          const p = path.join(sshDir, name);
          fs.mkdirSync(path.dirname(p), { recursive: true });
          const data = name === 'config' && !cs.wholeFileRefused ? Buffer.concat([Buffer.from(content), Buffer.from(GOOD_HOST)]) : Buffer.from(content);
          fs.writeFileSync(p, data);
        }
        const file = path.join(sshDir, 'config');
        const t0 = Date.now();
        const config = loadSshConfig({ path: file, homeDir: dir, env: {} });
        const took = Date.now() - t0;
        assert.ok(took < 5000, `read in ${took} ms`);
        if (cs.expect) {
          const hit = config.problems.find((p) => cs.expect!.test(p.message));
          assert.ok(hit, `a problem matching ${cs.expect}; got: ${JSON.stringify(config.problems.map((p) => `${p.line}: ${p.message}`).slice(0, 5))}`);
          assert.ok(hit.file.length > 0, 'the problem names its file');
          if (cs.line !== undefined) assert.equal(hit.line, cs.line, `on line ${cs.line}: ${hit.message}`);
        }
        // Nothing else is lost, and resolving never throws.
        for (const alias of ['a', 'good', 'deepest', 'x', '']) {
          try {
            const r = config.resolve(alias);
            assert.equal(typeof r.port, 'number');
          } catch (err) {
            assert.ok(err instanceof DestinationError, `resolve(${JSON.stringify(alias)}) threw ${String(err)}`);
          }
        }
        if (!cs.wholeFileRefused) {
          const good = config.resolve('good');
          assert.deepEqual([good.hostName, good.port, good.user], ['good.example', 2222, 'gooduser'], 'the good host after the bad part is intact');
        }
        count();
      });
    }
  });

  describe('hostile known_hosts lines', () => {
    test(`${BAD_KNOWN_HOSTS.length} bad lines: each reported with its line and what is wrong; the good lines around still work`, () => {
      const file = path.join(home, 'known_hosts');
      const good = ed25519Blob(9);
      for (const cs of BAD_KNOWN_HOSTS) {
        fs.writeFileSync(file, `good.example ssh-ed25519 ${good.toString('base64')}\n${cs.line}\n[good.example]:2222 ssh-ed25519 ${good.toString('base64')}\n`);
        const kh = new KnownHosts([file]);
        const p = kh.problems.find((x) => x.line === 2);
        assert.ok(p, `${JSON.stringify(cs.line.slice(0, 80))}: a problem on line 2; got ${JSON.stringify(kh.problems)}`);
        assert.match(p.message, cs.expect, JSON.stringify(cs.line.slice(0, 80)));
        assert.equal(kh.check('good.example', 22, good).status, 'known');
        assert.equal(kh.check('good.example', 2222, good).status, 'known');
        assert.notEqual(kh.check('good.example', 22, ed25519Blob(3)).status, 'known');
        count();
      }
    });
  });

  describe('properties (fast-check): stable round trips, no stray exceptions', () => {
    const runs = (n: number): { numRuns: number } => ({ numRuns: n });

    test('forward specs: parse(format(spec)) = spec, format is stable, for -L/-R/-D and config form', () => {
      fc.assert(fc.property(forwardSpecArb(), (spec) => {
        const text = formatForwardSpec(spec);
        const again = parseForwardSpec(spec.kind, text);
        assert.deepEqual(again, spec);
        assert.equal(formatForwardSpec(again), text);
        assert.deepEqual(parseForwardArgument(formatForwardFlag(spec)), spec);
      }), runs(1000));
      counter?.note('property cases: forward spec round trip', 1000);
    });

    test('any string as a forward: a spec that round-trips, or a ForwardSpecError — nothing else', () => {
      let n = 0;
      fc.assert(fc.property(hostileString(), (text) => {
        n++;
        let spec: ForwardSpec;
        try {
          spec = parseForwardArgument(text);
        } catch (err) {
          if (err instanceof ForwardSpecError) return;
          throw err;
        }
        const again = parseForwardArgument(formatForwardFlag(spec));
        assert.deepEqual(again, spec);
      }), runs(3000));
      counter?.note('property cases: any string as a forward', n);
    });

    test('any string as an ssh command or destination: a result or the parser\'s own error', () => {
      let n = 0;
      fc.assert(fc.property(hostileString(), (text) => {
        n++;
        try {
          parseSshCommand(`ssh ${text}`);
        } catch (err) {
          if (!(err instanceof ForwardSpecError)) throw err;
        }
        try {
          parseDestination(text);
        } catch (err) {
          if (!(err instanceof DestinationError)) throw err;
        }
      }), runs(2000));
      counter?.note('property cases: any string as ssh command / destination', n);
    });

    test('any bytes as an ssh config: loads without throwing; resolving throws only DestinationError', () => {
      const dir = fs.mkdtempSync(path.join(home, 'prop-'));
      const file = path.join(dir, 'config');
      let n = 0;
      fc.assert(fc.property(fc.oneof(
        fc.array(hostileString(40), { maxLength: 12 }).map((lines) => Buffer.from(lines.join('\n'))),
        fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a)),
      ), hostileString(20), (data, alias) => {
        n++;
        fs.writeFileSync(file, data);
        const config = loadSshConfig({ path: file, homeDir: dir, env: {} });
        for (const p of config.problems) assert.ok(typeof p.message === 'string' && p.message.length > 0 && p.line >= 0);
        for (const h of [alias, ...config.hosts.slice(0, 3).map((x) => x.alias)]) {
          try {
            config.resolve(h);
          } catch (err) {
            if (!(err instanceof DestinationError)) throw err;
          }
        }
      }), runs(400));
      counter?.note('property cases: any bytes as an ssh config', n);
    });

    test('any known_hosts text: reads without throwing; check never throws', () => {
      const file = path.join(home, 'kh-prop');
      let n = 0;
      fc.assert(fc.property(fc.array(hostileString(60), { maxLength: 8 }), hostileString(20), (lines, host) => {
        n++;
        fs.writeFileSync(file, lines.join('\n'));
        const kh = new KnownHosts([file]);
        kh.check(host, 22, ed25519Blob(1));
        kh.check(host, 2222, Buffer.from(host));
      }), runs(500));
      counter?.note('property cases: any known_hosts text', n);
    });

    test('any bytes as a SOCKS handshake: a request or a SocksError, never a hang or another exception', async () => {
      let n = 0;
      await fc.assert(fc.asyncProperty(fc.oneof(
        fc.uint8Array({ maxLength: 64 }),
        fc.tuple(fc.constantFrom(4, 5), fc.uint8Array({ maxLength: 40 })).map(([v, rest]) => Uint8Array.from([v, ...rest])),
      ), async (bytes) => {
        n++;
        const stream = new PassThrough();
        stream.on('error', () => undefined);
        const p = readSocksRequest(stream);
        stream.end(Buffer.from(bytes));
        try {
          const req = await p;
          assert.ok(req.port >= 0 && req.port <= 65535);
        } catch (err) {
          if (!(err instanceof SocksError)) throw err;
        }
      }), runs(1000));
      counter?.note('property cases: any bytes as a SOCKS handshake', n);
    });
  });
}
