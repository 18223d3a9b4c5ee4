import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import {
  DestinationError,
  formatConfigProblem,
  loadSshConfig,
  matchPattern,
  matchPatternList,
  parseDestination,
  parseTimeSpec,
  type ConfigProblem,
  type Destination,
  type LoadSshConfigOptions,
  type ResolvedHost,
  type SshConfig,
} from '../../src/core/sshConfig';
import { ForwardSpecError, parseForwardSpec } from '../../src/core/forwardSpec';
import type { ForwardSpec } from '../../src/core/model';

// ---------------------------------------------------------------------------------------------
// Helpers: every config lives in its own temp "home"; the real ~/.ssh is never touched.

const tempDirs: string[] = [];
after(() => {
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
});

function makeHome(files: Record<string, string> = {}): string {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'sshcfg-'));
  tempDirs.push(home);
  fs.mkdirSync(path.join(home, '.ssh'), { mode: 0o700 });
  for (const [rel, text] of Object.entries(files)) write(home, rel, text);
  return home;
}

function write(home: string, rel: string, text: string): string {
  const p = path.join(home, rel);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, text);
  return p;
}

const ENV = { SSH_AUTH_SOCK: '/tmp/agent.sock', KEYDIR: '/keys', AGENT2: '/tmp/agent2.sock' };

function load(home: string, extra: LoadSshConfigOptions = {}): SshConfig {
  return loadSshConfig({ homeDir: home, env: ENV, localUser: 'alice', localHostName: 'box.example.org', ...extra });
}

/** Loads a config given as text (the main ~/.ssh/config of a fresh home). */
function cfg(text: string, files: Record<string, string> = {}): { config: SshConfig; home: string; file: string } {
  const home = makeHome({ '.ssh/config': text, ...files });
  return { config: load(home), home, file: path.join(home, '.ssh', 'config') };
}

function onlyProblem(problems: ConfigProblem[]): ConfigProblem {
  assert.equal(problems.length, 1, `expected one problem, got ${JSON.stringify(problems, null, 1)}`);
  return problems[0];
}

// ---------------------------------------------------------------------------------------------

describe('parseDestination', () => {
  const GOOD: [string, Destination][] = [
    ['host', { host: 'host' }],
    ['user@host', { user: 'user', host: 'host' }],
    ['user@host:2222', { user: 'user', host: 'host', port: 2222 }],
    ['host:22', { host: 'host', port: 22 }],
    ['[::1]:2222', { host: '::1', port: 2222 }],
    ['[::1]', { host: '::1' }],
    ['::1', { host: '::1' }],
    ['fe80::1%eth0', { host: 'fe80::1%eth0' }],
    ['bob@[2001:db8::1]:22', { user: 'bob', host: '2001:db8::1', port: 22 }],
    ['ssh://user@host:2222', { user: 'user', host: 'host', port: 2222 }],
    ['ssh://host', { host: 'host' }],
    ['ssh://host/', { host: 'host' }],
    ['ssh://u%40x@h', { user: 'u@x', host: 'h' }],
    ['ssh://u;fingerprint=SHA256:abc@h:2', { user: 'u', host: 'h', port: 2 }],
    ['ssh://[::1]:2200', { host: '::1', port: 2200 }],
    ['u@v@h', { user: 'u@v', host: 'h' }],
    ['  spaced.example.com  ', { host: 'spaced.example.com' }],
    ['h:065535', { host: 'h', port: 65535 }],
  ];
  for (const [text, expected] of GOOD) {
    test(`good: ${JSON.stringify(text)}`, () => assert.deepEqual(parseDestination(text), expected));
  }
  const BAD: [string, RegExp][] = [
    ['', /empty/],
    ['@host', /empty user name/],
    ['user@', /missing host name/],
    ['host:', /missing port/],
    ['host:0', /bad port '0'/],
    ['host:65536', /bad port '65536'/],
    ['host:ssh', /bad port 'ssh'/],
    ['[::1', /missing "\]"/],
    ['[::1]x', /unexpected "x"/],
    ['-oProxyCommand=x', /may not start with "-"/],
    ['a b', /invalid characters/],
    ['a;b', /invalid characters/],
    ['a,b', /invalid characters/],
    ['ssh://h/path', /may not have a path/],
    ['ssh://u%zz@h', /bad %-escape/],
  ];
  for (const [text, message] of BAD) {
    test(`bad: ${JSON.stringify(text)}`, () => {
      assert.throws(() => parseDestination(text), (err: unknown) => {
        assert.ok(err instanceof DestinationError);
        assert.match(err.message, message);
        assert.ok(err.message.includes(JSON.stringify(text.trim()).slice(1, -1)) || text === '', err.message);
        return true;
      });
    });
  }
});

describe('patterns (OpenSSH match.c)', () => {
  test('match_pattern: * and ?, case-sensitive', () => {
    assert.ok(matchPattern('web1.example.com', '*.example.com'));
    assert.ok(matchPattern('web1', 'web?'));
    assert.ok(!matchPattern('web12', 'web?'));
    assert.ok(matchPattern('', '*'));
    assert.ok(!matchPattern('Web1', 'web*'));
    assert.ok(matchPattern('abcabc', '*abc'));
    assert.ok(matchPattern('a'.repeat(60), '*a*a*a*a*a*a*a*a*a*a*a*'), 'no exponential blow-up');
    assert.ok(!matchPattern('a'.repeat(60), '*a*a*a*a*a*a*a*a*a*a*a*b'));
  });
  test('match_pattern_list: commas and negation', () => {
    assert.equal(matchPatternList('a.example.com', '*.example.com,!b.example.com'), 1);
    assert.equal(matchPatternList('b.example.com', '*.example.com,!b.example.com'), -1);
    assert.equal(matchPatternList('c.org', '*.example.com,!b.example.com'), 0);
    assert.equal(matchPatternList('x', '!y'), 0, 'a negation alone never matches');
    assert.equal(matchPatternList('HOST', 'host', true), 1);
  });
  test('property: agrees with a regular-expression reference', () => {
    const alphabet = fc.constantFrom('a', 'b', '.', '*', '?');
    fc.assert(
      fc.property(fc.string({ unit: alphabet, maxLength: 8 }), fc.string({ unit: fc.constantFrom('a', 'b', '.'), maxLength: 10 }), (pattern, text) => {
        const re = new RegExp('^' + pattern.replace(/\./g, '\\.').replace(/\*/g, '.*').replace(/\?/g, '.') + '$', 's');
        assert.equal(matchPattern(text, pattern), re.test(text));
      }),
      { numRuns: 2000 },
    );
  });
  test('parseTimeSpec is OpenSSH convtime', () => {
    assert.equal(parseTimeSpec('90'), 90);
    assert.equal(parseTimeSpec('1m30s'), 90);
    assert.equal(parseTimeSpec('1h1s'), 3601);
    assert.equal(parseTimeSpec('2W'), 1209600);
    assert.equal(parseTimeSpec('10x'), undefined);
    assert.equal(parseTimeSpec(''), undefined);
    assert.equal(parseTimeSpec('-1'), undefined);
  });
});

// ---------------------------------------------------------------------------------------------
// The table: one config line after `Host x` / `  HostName y`, i.e. at line 3.

describe('config lines: good and bad (table)', () => {
  type Good = [line: string, check: (r: ResolvedHost) => void];
  const GOOD: Good[] = [
    ['Port=2222', (r) => assert.equal(r.port, 2222)],
    ['port 2222', (r) => assert.equal(r.port, 2222)],
    ['  PORT   2222   # a comment', (r) => assert.equal(r.port, 2222)],
    ['Port\t010', (r) => assert.equal(r.port, 10)],
    ['Port = 2222\r', (r) => assert.equal(r.port, 2222)],
    ['User "john smith"', (r) => assert.equal(r.user, 'john smith')],
    ['IdentityFile "~/my keys/id"', (r) => assert.ok(r.identityFiles.length === 1 && r.identityFiles[0].endsWith(`${path.sep}my keys${path.sep}id`), r.identityFiles[0])],
    ['ServerAliveInterval 1m30s', (r) => assert.deepEqual([r.serverAliveInterval, r.serverAliveIntervalFromConfig], [90, true])],
    ['ServerAliveInterval 0', (r) => assert.deepEqual([r.serverAliveInterval, r.serverAliveIntervalFromConfig], [0, true])],
    ['ServerAliveCountMax 0', (r) => assert.equal(r.serverAliveCountMax, 0)],
    ['ConnectTimeout none', (r) => assert.equal(r.connectTimeout, undefined)],
    ['ConnectTimeout 1m', (r) => assert.equal(r.connectTimeout, 60)],
    ['StrictHostKeyChecking accept-new', (r) => assert.equal(r.strictHostKeyChecking, 'accept-new')],
    ['StrictHostKeyChecking TRUE', (r) => assert.equal(r.strictHostKeyChecking, 'yes')],
    ['StrictHostKeyChecking off', (r) => assert.equal(r.strictHostKeyChecking, 'off')],
    ['IdentitiesOnly yes', (r) => assert.equal(r.identitiesOnly, true)],
    ['ExitOnForwardFailure true', (r) => assert.equal(r.exitOnForwardFailure, true)],
    ['GatewayPorts yes', (r) => assert.equal(r.gatewayPorts, true)],
    ['HashKnownHosts yes', (r) => assert.equal(r.hashKnownHosts, true)],
    ['SomeFutureKeyword whatever it says', (r) => assert.equal(r.options.somefuturekeyword, 'whatever it says')],
    ['SendEnv LANG LC_*', (r) => assert.equal(r.options.sendenv, 'LANG LC_*')],
    ['LocalForward [::1]:9999 [fe80::1]:80', (r) => assert.deepEqual(r.forwards, [{ kind: 'local', bindAddress: '::1', bindPort: 9999, targetHost: 'fe80::1', targetPort: 80 }])],
    ['RemoteForward 8080', (r) => assert.deepEqual(r.forwards, [{ kind: 'remote', bindPort: 8080 }])],
    ['DynamicForward=127.0.0.1:1080', (r) => assert.deepEqual(r.forwards, [{ kind: 'dynamic', bindAddress: '127.0.0.1', bindPort: 1080 }])],
    ['ProxyJump none', (r) => assert.deepEqual(r.proxyJump, [])],
    ['ProxyJump ssh://u@j:2222,[::1]:22', (r) => assert.deepEqual(r.proxyJump, ['ssh://u@j:2222', '[::1]:22'])],
    ['UserKnownHostsFile none', (r) => assert.deepEqual(r.userKnownHostsFiles, [])],
    ['IdentityAgent none', (r) => assert.equal(r.identityAgent, undefined)],
    ['# Port 1234', (r) => assert.equal(r.port, 22)],
  ];
  for (const [line, check] of GOOD) {
    test(`good: ${JSON.stringify(line)}`, () => {
      const { config } = cfg(`Host x\n  HostName y\n  ${line}\n`);
      assert.deepEqual(config.problems, []);
      const r = config.resolve('x');
      assert.deepEqual(r.problems, []);
      check(r);
    });
  }

  type Bad = [line: string, message: RegExp];
  const BAD: Bad[] = [
    ['Port abc', /Bad port 'abc'/],
    ['Port 0', /Bad port '0'/],
    ['Port 65536', /Bad port '65536'/],
    ['Port 22 23', /extra arguments/],
    ['Port', /no argument after keyword "Port"/],
    ['HostName a b', /extra arguments/],
    ['IdentitiesOnly maybe', /IdentitiesOnly: unsupported option "maybe"/],
    ['HashKnownHosts 2', /HashKnownHosts: unsupported option "2"/],
    ['StrictHostKeyChecking sometimes', /unsupported option "sometimes"/],
    ['ServerAliveInterval 10x', /invalid time value "10x"/],
    ['ConnectTimeout -5', /invalid time value "-5"/],
    ['ServerAliveCountMax -1', /bad integer "-1"/],
    ['LocalForward 99999 h:1', /Bad forwarding specification in LocalForward "99999 h:1": .*99999/],
    ['LocalForward 8080', /Bad forwarding specification.*no target/],
    ['RemoteForward abc', /Bad forwarding specification in RemoteForward/],
    ['DynamicForward 1080 h:1', /extra arguments/],
    ['ProxyJump a,,b', /Invalid ProxyJump "a,,b": empty hop/],
    ['ProxyJump -oProxyCommand=x', /Invalid ProxyJump.*may not start with "-"/],
    ['ProxyJump u@h:0', /Invalid ProxyJump.*bad port '0'/],
    ['HostName %x.example.com', /unknown token %x/],
    ['IdentityFile ~/.ssh/%q', /IdentityFile: unknown token %q/],
    ['UserKnownHostsFile ~/kh%', /"%" at the end/],
    ['User "unterminated', /unterminated quote/],
    ['Host', /no argument after keyword "Host"/],
    ['Host a,b', /comma/],
    ['Match exec "true"', /Match exec is not evaluated/],
    ['Match all host x', /'all' cannot be combined/],
    ['Match host', /missing argument/],
    ['Match bogus x', /Unsupported Match attribute "bogus"/],
    ['Match host "a', /unterminated quote/],
    ['Include does-not-exist.conf', /Include .*does-not-exist\.conf: no such file/],
    ['= 5', /Malformed line/],
  ];
  for (const [line, message] of BAD) {
    test(`bad: ${JSON.stringify(line)}`, () => {
      const { config, file } = cfg(`Host x\n  HostName y\n  ${line}\nHost z\n  Port 2\n`);
      const p = onlyProblem(config.problems);
      assert.equal(p.file, file);
      assert.equal(p.line, 3);
      assert.match(p.message, message);
      assert.match(formatConfigProblem(p), new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3: `));
      // The rest of the file still counts.
      assert.deepEqual(config.hosts.map((h) => h.alias), ['x', 'z']);
      assert.equal(config.resolve('z').port, 2);
      assert.doesNotThrow(() => config.resolve('x'));
    });
  }

  test('a bad forward carries the ForwardSpecError message', () => {
    let expected = '';
    try {
      parseForwardSpec('local', '99999 h:1');
    } catch (err) {
      assert.ok(err instanceof ForwardSpecError);
      expected = err.message;
    }
    const { config } = cfg('Host x\n  LocalForward 99999 h:1\n  LocalForward 9999 h:1\n');
    assert.ok(onlyProblem(config.problems).message.includes(expected));
    const r = config.resolve('x');
    assert.deepEqual(r.forwards, [{ kind: 'local', bindPort: 9999, targetHost: 'h', targetPort: 1 }]);
    assert.equal(r.problems.length, 1, 'the bad line applied to x, so resolve reports it too');
    assert.equal(r.problems[0].line, 2);
  });

  test('a bad value is skipped: the next one wins', () => {
    const { config } = cfg('Host x\n  Port abc\nHost *\n  Port 2200\n');
    assert.equal(config.resolve('x').port, 2200);
  });
});

// ---------------------------------------------------------------------------------------------

describe('loading', () => {
  test('a missing config is an empty config, not an error', () => {
    const home = makeHome();
    const config = load(home);
    assert.deepEqual(config.hosts, []);
    assert.deepEqual(config.problems, []);
    const r = config.resolve('example.com');
    assert.equal(r.hostName, 'example.com');
    assert.equal(r.port, 22);
  });

  test('opts.path with ~', () => {
    const home = makeHome({ 'other/cfg': 'Host o\n  Port 7\n' });
    const config = load(home, { path: '~/other/cfg' });
    assert.equal(config.path, path.join(home, 'other', 'cfg'));
    assert.equal(config.resolve('o').port, 7);
  });

  test('a directory as config is a problem, not a crash', () => {
    const home = makeHome();
    fs.mkdirSync(path.join(home, '.ssh', 'config'));
    const config = load(home);
    assert.equal(onlyProblem(config.problems).line, 0);
    assert.match(config.problems[0].message, /Cannot read/);
  });

  test('hosts: concrete aliases in file order with file, line and resolved values', () => {
    const { config, file } = cfg(
      [
        'Host *', //                     1
        '  User everyone', //            2
        'Host web1 web2 !web3 db?', //    3
        '  HostName %h.example.com', //  4
        'Host *.corp', //                5
        '  Port 2222', //                6
        'Host jump', //                  7
        '  HostName 10.0.0.1', //        8
        '  User admin', //               9
        '  Port 2200', //               10
        'Host web1', //                 11
        '  Port 1', //                  12
        'Match host x', //              13
        '  Port 3', //                  14
      ].join('\n'),
    );
    assert.deepEqual(config.hosts, [
      { alias: 'web1', file, line: 3, hostName: 'web1.example.com', user: 'everyone', port: 1 },
      { alias: 'web2', file, line: 3, hostName: 'web2.example.com', user: 'everyone', port: 22 },
      { alias: 'jump', file, line: 7, hostName: '10.0.0.1', user: 'everyone', port: 2200 },
    ]);
  });

  test('a malformed file keeps every host it could read', () => {
    const { config } = cfg('Host a\n  User "oops\nHost b\n  Port abc\n  Port 2\nHost c\n\x01garbage\x00 after a NUL\nHost d\n');
    assert.deepEqual(config.hosts.map((h) => h.alias), ['a', 'b', 'c', 'd']);
    assert.equal(config.resolve('b').port, 2);
    assert.deepEqual(config.problems.map((p) => p.line), [2, 4, 7]);
  });

  test('CRLF, BOM, tabs and keyword case', () => {
    const { config } = cfg('\uFEFFHOST a\r\n\tHOSTNAME Real.Example.COM\r\n\tuser\tbob\r\n');
    assert.deepEqual(config.problems, []);
    const r = config.resolve('a');
    assert.equal(r.hostName, 'real.example.com', 'ssh lower-cases the host name');
    assert.equal(r.user, 'bob');
  });
});

// ---------------------------------------------------------------------------------------------

describe('resolve: ssh -G semantics', () => {
  test('defaults like ssh (ServerAliveInterval 15 of our own)', () => {
    const { config, home } = cfg('');
    const r = config.resolve('example.com');
    assert.deepEqual(r, {
      alias: 'example.com',
      hostName: 'example.com',
      user: 'alice',
      port: 22,
      identityFiles: ['id_rsa', 'id_ecdsa', 'id_ed25519'].map((f) => path.join(home, '.ssh', f)),
      identitiesOnly: false,
      identityAgent: '/tmp/agent.sock',
      proxyJump: [],
      serverAliveInterval: 15,
      serverAliveIntervalFromConfig: false,
      serverAliveCountMax: 3,
      exitOnForwardFailure: false,
      gatewayPorts: false,
      strictHostKeyChecking: 'ask',
      userKnownHostsFiles: [path.join(home, '.ssh', 'known_hosts'), path.join(home, '.ssh', 'known_hosts2')],
      globalKnownHostsFiles: ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'],
      hashKnownHosts: false,
      forwards: [],
      options: {},
      problems: [],
    });
    assert.equal(r.connectTimeout, undefined);
  });

  test('first value wins; IdentityFile, forwards accumulate', () => {
    const { config, home } = cfg(
      'Host web\n  Port 1\n  IdentityFile ~/.ssh/web\n  LocalForward 1 a:1\nHost w*\n  Port 2\n  User u2\n  IdentityFile ~/.ssh/w\n  LocalForward 2 b:2\n  LocalForward 1 a:1\nHost *\n  User u3\n  IdentityFile ~/.ssh/web\n',
    );
    const r = config.resolve('web');
    assert.equal(r.port, 1);
    assert.equal(r.user, 'u2');
    assert.deepEqual(r.identityFiles, [path.join(home, '.ssh/web'), path.join(home, '.ssh/w')], 'duplicates dropped, no defaults');
    assert.deepEqual(r.forwards.map((f) => f.bindPort), [1, 2], 'identical forwards once, like ssh');
  });

  test('destination user/port and overrides beat the config', () => {
    const { config } = cfg('Host h\n  User cfg\n  Port 1\nMatch user cli\n  HostName matched-cli\n');
    assert.deepEqual(pick(config.resolve('h')), ['h', 'cfg', 1]);
    assert.deepEqual(pick(config.resolve('cli@h:2')), ['matched-cli', 'cli', 2]);
    assert.deepEqual(pick(config.resolve('ssh://x@h:3', { user: 'cli', port: 4 })), ['matched-cli', 'cli', 4]);
    function pick(r: ResolvedHost): [string, string, number] {
      return [r.hostName, r.user, r.port];
    }
  });

  test('Host patterns: wildcards, ?, negation, space lists, case-sensitive', () => {
    const { config } = cfg('Host *.example.com !bad.example.com\n  Port 1\nHost db? web-*\n  Port 2\nHost UPPER\n  Port 3\nHost !x\n  Port 4\n');
    assert.equal(config.resolve('a.example.com').port, 1);
    assert.equal(config.resolve('bad.example.com').port, 22);
    assert.equal(config.resolve('db1').port, 2);
    assert.equal(config.resolve('db12').port, 22);
    assert.equal(config.resolve('web-7').port, 2);
    assert.equal(config.resolve('UPPER').port, 3);
    assert.equal(config.resolve('upper').port, 22, 'Host matches the name as typed, case-sensitively');
    assert.equal(config.resolve('y').port, 22, 'a negation alone never matches');
  });

  test('Match all / host (after HostName) / originalhost / user / localuser / negation', () => {
    const { config } = cfg(
      [
        'Host short',
        '  HostName Long.Example.com',
        'Match host long.example.com',
        '  Port 1',
        'Match originalhost short user root',
        '  User fromroot',
        'Match !originalhost short,other',
        '  IdentitiesOnly yes',
        'Match localuser alice',
        '  GatewayPorts yes',
        'Match user bob',
        '  ExitOnForwardFailure yes',
        'Match all',
        '  ServerAliveCountMax 7',
      ].join('\n'),
    );
    const r = config.resolve('short');
    assert.equal(r.port, 1, 'Match host tests the HostName (case-insensitively)');
    assert.equal(r.user, 'alice', 'Match user root did not match');
    assert.equal(r.identitiesOnly, false);
    assert.equal(r.gatewayPorts, true);
    assert.equal(r.serverAliveCountMax, 7);
    assert.equal(config.resolve('root@short').user, 'root');
    assert.equal(config.resolve('other').identitiesOnly, false);
    assert.equal(config.resolve('third').identitiesOnly, true);
    assert.equal(config.resolve('bob@third').exitOnForwardFailure, true);
    assert.deepEqual(config.problems, []);
  });

  test('Match exec is never run: not matching, and a problem', () => {
    const home = makeHome();
    const marker = path.join(home, 'ran');
    const text = `Match exec "touch ${marker}"\n  Port 1\nMatch host x exec "touch ${marker}"\n  Port 2\nMatch localnetwork 10.0.0.0/8\n  Port 3\n`;
    write(home, '.ssh/config', text);
    const config = load(home);
    assert.deepEqual(config.problems.map((p) => [p.line, p.message.replace(/ \(.*/, '')]), [
      [1, 'Match exec is not evaluated'],
      [3, 'Match exec is not evaluated'],
      [5, 'Match localnetwork is not evaluated'],
    ]);
    const r = config.resolve('x');
    assert.equal(r.port, 22);
    assert.equal(r.problems.length, 3);
    assert.equal(fs.existsSync(marker), false, 'the command was never executed');
  });

  test('Match final: a second pass where Host matches the HostName', () => {
    const { config, home } = cfg('Host m1\n  HostName real1\nMatch final host real1\n  User finaluser\nHost real1\n  Port 2003\n  IdentityFile ~/final\nMatch canonical\n  Compression yes\n');
    const r = config.resolve('m1');
    assert.equal(r.user, 'finaluser');
    assert.equal(r.port, 2003);
    assert.deepEqual(r.identityFiles, [path.join(home, 'final')]);
    assert.equal(r.options.compression, 'yes');
    const plain = cfg('Host m1\n  HostName real1\nHost real1\n  Port 2003\nMatch canonical\n  Compression yes\n').config.resolve('m1');
    assert.equal(plain.port, 22, 'without Match final there is no second pass');
    assert.equal(plain.options.compression, undefined);
  });

  test('tokens and ~ in IdentityFile, UserKnownHostsFile, IdentityAgent; %h in HostName', () => {
    const { config, home } = cfg(
      [
        'Host t',
        '  HostName %h.example.com',
        '  User rem',
        '  Port 2222',
        '  ProxyJump j1',
        '  HostKeyAlias Alias1',
        '  IdentityFile ~/.ssh/%h-%p-%r-%u-%n-%l-%L-%%',
        '  IdentityFile %d/%i/%k/%j',
        '  IdentityFile ${KEYDIR}/%C',
        '  IdentityFile ~alice/x',
        '  UserKnownHostsFile ~/kh/%n %d/kh2',
        '  IdentityAgent ~/agent.%r',
      ].join('\n'),
    );
    assert.deepEqual(config.problems, []);
    const r = config.resolve('t');
    assert.equal(r.hostName, 't.example.com');
    const uid = String(os.userInfo().uid);
    const { createHash } = require('node:crypto') as typeof import('node:crypto');
    const C = createHash('sha1').update('box.example.orgt.example.com2222remj1').digest('hex');
    assert.deepEqual(r.identityFiles, [
      path.join(home, '.ssh', 't.example.com-2222-rem-alice-t-box.example.org-box-%'),
      `${home}/${uid}/alias1/j1`,
      `/keys/${C}`,
      path.join(home, 'x'),
    ]);
    assert.deepEqual(r.userKnownHostsFiles, [path.join(home, 'kh', 't'), `${home}/kh2`]);
    assert.equal(r.identityAgent, path.join(home, 'agent.rem'));
    assert.equal(r.hostKeyAlias, 'alias1');
  });

  test('IdentityAgent: SSH_AUTH_SOCK, $VAR, unset variable', () => {
    const { config } = cfg('Host a\n  IdentityAgent SSH_AUTH_SOCK\nHost b\n  IdentityAgent $AGENT2\nHost c\n  IdentityAgent $NOPE\nHost d\n  IdentityFile ${NOPE}/k\n');
    assert.equal(config.resolve('a').identityAgent, '/tmp/agent.sock');
    assert.equal(config.resolve('b').identityAgent, '/tmp/agent2.sock');
    const c = config.resolve('c');
    assert.equal(c.identityAgent, undefined);
    assert.match(onlyProblem(c.problems).message, /NOPE is not set/);
    assert.match(onlyProblem(config.resolve('d').problems).message, /\$\{NOPE\} is not set/);
    const noAgent = loadSshConfig({ homeDir: makeHome(), env: {} }).resolve('x');
    assert.equal(noAgent.identityAgent, undefined);
  });

  test('IdentityFile none: no keys and no defaults', () => {
    assert.deepEqual(cfg('IdentityFile none\n').config.resolve('x').identityFiles, []);
  });

  test('forwards: several of each kind, ClearAllForwardings', () => {
    const { config } = cfg(
      'Host f\n  LocalForward 9999 mailserver:110\n  LocalForward 127.0.0.1:8080 web:80\n  RemoteForward 8022 localhost:22\n  RemoteForward 1080\n  DynamicForward 1081\n  DynamicForward [::1]:1082\nHost g\n  ClearAllForwardings yes\nHost *\n  LocalForward 1 x:1\n',
    );
    const expected: ForwardSpec[] = [
      { kind: 'local', bindPort: 9999, targetHost: 'mailserver', targetPort: 110 },
      { kind: 'local', bindAddress: '127.0.0.1', bindPort: 8080, targetHost: 'web', targetPort: 80 },
      { kind: 'remote', bindPort: 8022, targetHost: 'localhost', targetPort: 22 },
      { kind: 'remote', bindPort: 1080 },
      { kind: 'dynamic', bindPort: 1081 },
      { kind: 'dynamic', bindAddress: '::1', bindPort: 1082 },
      { kind: 'local', bindPort: 1, targetHost: 'x', targetPort: 1 },
    ];
    assert.deepEqual(config.resolve('f').forwards, expected);
    assert.deepEqual(config.resolve('g').forwards, []);
  });

  test('ProxyJump hops; ProxyCommand: first of the two wins, never run', () => {
    const { config } = cfg('Host pj\n  ProxyJump a@j1:2222,j2\n  ProxyCommand nc %h %p\nHost pc\n  ProxyCommand nc %h %p\n  ProxyJump j1\nHost pn\n  ProxyCommand none\n');
    const pj = config.resolve('pj');
    assert.deepEqual(pj.proxyJump, ['a@j1:2222', 'j2']);
    assert.equal(pj.proxyCommand, undefined);
    const pc = config.resolve('pc');
    assert.deepEqual(pc.proxyJump, []);
    assert.equal(pc.proxyCommand, 'nc %h %p');
    assert.match(onlyProblem(pc.problems).message, /ProxyCommand is not supported/);
    assert.deepEqual(config.resolve('pn').problems, []);
  });

  test('an alias that would not parse as a destination still resolves', () => {
    const { config } = cfg('Host foo:bar\n  Port 5\n');
    assert.equal(config.resolve('foo:bar').port, 5);
    assert.throws(() => config.resolve('-x'), DestinationError);
  });
});

// ---------------------------------------------------------------------------------------------

describe('Include', () => {
  test('relative to ~/.ssh, globs sorted, hidden files skipped, ~ expanded, inside Host', () => {
    const home = makeHome({
      '.ssh/config': 'Include config.d/*.conf\nInclude ~/extra/c?g\nHost *\n  User last\n',
      '.ssh/config.d/b.conf': 'Host b\n  Port 2\nHost a\n  Port 20\n',
      '.ssh/config.d/a.conf': 'Host a\n  Port 1\n',
      '.ssh/config.d/.hidden.conf': 'Host hidden\n',
      '.ssh/config.d/notes.txt': 'Host txt\n',
      '.ssh/config.d/sub.conf/x': 'Host insubdir\n',
      'extra/cfg': 'Host e\n  User eu\n',
    });
    const config = load(home);
    assert.deepEqual(config.problems, []);
    assert.deepEqual(config.hosts.map((h) => [h.alias, path.relative(home, h.file), h.line]), [
      ['a', '.ssh/config.d/a.conf', 1],
      ['b', '.ssh/config.d/b.conf', 1],
      ['e', 'extra/cfg', 1],
    ]);
    assert.equal(config.resolve('a').port, 1, 'a.conf is read before b.conf');
    assert.equal(config.resolve('e').user, 'eu');
    assert.equal(config.resolve('b').user, 'last');
    assert.deepEqual(config.files.map((f) => path.relative(home, f)), ['.ssh/config', '.ssh/config.d/a.conf', '.ssh/config.d/b.conf', 'extra/cfg']);
  });

  test('glob in a directory part', () => {
    const home = makeHome({ '.ssh/config': 'Include hosts/*/config\n', '.ssh/hosts/one/config': 'Host one\n', '.ssh/hosts/two/config': 'Host two\n' });
    assert.deepEqual(load(home).hosts.map((h) => h.alias), ['one', 'two']);
  });

  test('Include inside a Host block applies only when that block matches', () => {
    const home = makeHome({
      '.ssh/config': 'Host cond\n  Include inc\n  User conduser\nHost *\n  Include inc\n',
      '.ssh/inc': 'Port 3001\nHost other\n  User otheruser\n',
    });
    const config = load(home);
    assert.deepEqual([config.resolve('cond').port, config.resolve('cond').user], [3001, 'conduser']);
    assert.deepEqual([config.resolve('other').port, config.resolve('other').user], [3001, 'otheruser']);
    assert.deepEqual([config.resolve('zz').port, config.resolve('zz').user], [3001, 'alice']);
  });

  test('a file including itself is a loop problem, not a hang', () => {
    const home = makeHome({ '.ssh/config': 'Host a\nInclude config\n' });
    const config = load(home);
    const p = onlyProblem(config.problems);
    assert.equal(p.line, 2);
    assert.match(p.message, /Include loop/);
    assert.deepEqual(config.hosts.map((h) => h.alias), ['a']);
  });

  test('a -> b -> a loop through a glob', () => {
    const home = makeHome({ '.ssh/config': 'Include x/*\n', '.ssh/x/a': 'Host a\nInclude x/b\n', '.ssh/x/b': 'Host b\nInclude x/a\n' });
    const config = load(home);
    assert.ok(config.problems.length >= 1);
    for (const p of config.problems) assert.match(p.message, /Include loop/);
    assert.deepEqual(config.hosts.map((h) => h.alias), ['a', 'b']);
    assert.equal(config.problems[0].file, path.join(home, '.ssh/x/b'));
    assert.equal(config.problems[0].line, 2);
  });

  test('more than 16 nested includes', () => {
    const files: Record<string, string> = { '.ssh/config': 'Include f1\n' };
    for (let i = 1; i <= 20; i++) files[`.ssh/f${i}`] = `Host h${i}\nInclude f${i + 1}\n`;
    const config = load(makeHome(files));
    const p = onlyProblem(config.problems);
    assert.match(p.message, /Too many recursive configuration includes/);
    assert.equal(config.hosts.length, 16, 'like OpenSSH: depth 16 is read, 17 is not');
  });

  test('an Include of a directory is a problem; an empty glob is fine', () => {
    const home = makeHome({ '.ssh/config': 'Include nothing/*\nInclude dir\n' });
    fs.mkdirSync(path.join(home, '.ssh', 'dir'));
    const p = onlyProblem(load(home).problems);
    assert.equal(p.line, 2);
    assert.match(p.message, /cannot read.*directory/i);
  });

  test('problems inside included files name the included file', () => {
    const home = makeHome({ '.ssh/config': 'Include inc\n', '.ssh/inc': '\n\nPort nope\n' });
    const p = onlyProblem(load(home).problems);
    assert.deepEqual([p.file, p.line], [path.join(home, '.ssh/inc'), 3]);
  });
});

// ---------------------------------------------------------------------------------------------
// Compare with OpenSSH itself: `ssh -G -F file destination` reads the config and prints what it
// resolved, without connecting.

function sshAvailable(): boolean {
  try {
    execFileSync('ssh', ['-V'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

describe('agrees with ssh -G', { skip: !sshAvailable() && 'ssh not installed' }, () => {
  const home = makeHome();
  const realHome = os.userInfo().homedir; // what ssh uses for ~ and %d
  const inc = write(home, 'inc.conf', 'Host included\n  Port 4444\n  User incuser\n');
  const globDir = path.join(home, 'globbed');
  write(home, 'globbed/b', 'Host g\n  Port 2\n');
  write(home, 'globbed/a', 'Host g\n  Port 1\n');
  const file = write(
    home,
    'config',
    [
      `Include ${inc}`,
      `Include ${globDir}/*`,
      'Host web1 web2 !web3',
      '  HostName %h.example.com',
      '  Port 2201',
      'Host *.example.com',
      '  User exuser',
      '  ServerAliveInterval 1m',
      'Host jump',
      '  HostName 10.1.2.3',
      '  Port 2200',
      '  ProxyJump a@j1:2222,j2',
      'Host fw',
      '  LocalForward 127.0.0.1:9999 mailserver:110',
      '  LocalForward 9998 [::1]:22',
      '  RemoteForward 8080',
      '  RemoteForward *:8081 localhost:80',
      '  DynamicForward 1080',
      '  StrictHostKeyChecking accept-new',
      '  IdentitiesOnly yes',
      '  IdentityFile ~/.ssh/fw_key',
      '  UserKnownHostsFile ~/kh1 %d/kh2',
      'Host clear',
      '  LocalForward 1 h:2',
      '  ClearAllForwardings yes',
      'Host m1',
      '  HostName Real1',
      'Match host real1',
      '  Port 2001',
      'Match originalhost m1 user bob',
      '  ConnectTimeout 7',
      'Match !host real1,other',
      '  ServerAliveCountMax 9',
      'Match final host real1',
      '  User finaluser',
      'Host real1',
      '  GatewayPorts yes',
      'Host *',
      '  ExitOnForwardFailure yes',
      '  StrictHostKeyChecking no',
    ].join('\n'),
  );
  const config = loadSshConfig({ path: file, homeDir: realHome });
  const DESTS = ['web1', 'web2', 'web3', 'x.example.com', 'jump', 'fw', 'clear', 'm1', 'bob@m1', 'other', 'included', 'g', 'u@plain', 'ssh://u@h:2022', 'UPPER.example.com'];

  function sshG(dest: string): Map<string, string[]> {
    const out = execFileSync('ssh', ['-G', '-F', file, dest], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const m = new Map<string, string[]>();
    for (const line of out.split('\n')) {
      const i = line.indexOf(' ');
      if (i < 0) continue;
      const k = line.slice(0, i);
      m.set(k, [...(m.get(k) ?? []), line.slice(i + 1)]);
    }
    return m;
  }
  function fwd(f: ForwardSpec): string {
    const listen = f.bindAddress !== undefined ? `[${f.bindAddress}]:${f.bindPort}` : `${f.bindPort}`;
    if (f.kind === 'dynamic') return listen;
    return `${listen} ${f.targetHost !== undefined ? `[${f.targetHost}]:${f.targetPort}` : '[socks]:0'}`;
  }
  const expandHome = (p: string): string => (p.startsWith('~/') ? path.join(realHome, p.slice(2)) : p);

  test('config has no problems', () => assert.deepEqual(config.problems, []));
  for (const dest of DESTS) {
    test(dest, () => {
      const g = sshG(dest);
      const r = config.resolve(dest);
      const one = (k: string): string | undefined => g.get(k)?.[0];
      assert.equal(r.hostName, one('hostname'), 'hostname');
      assert.equal(r.user, one('user'), 'user');
      assert.equal(String(r.port), one('port'), 'port');
      assert.equal(r.proxyJump.join(','), one('proxyjump') ?? '', 'proxyjump');
      assert.equal(r.serverAliveIntervalFromConfig ? String(r.serverAliveInterval) : '0', one('serveraliveinterval'));
      assert.equal(String(r.serverAliveCountMax), one('serveralivecountmax'));
      assert.equal(r.connectTimeout === undefined ? 'none' : String(r.connectTimeout), one('connecttimeout'));
      const strict = { yes: 'true', no: 'false', off: 'false', ask: 'ask', 'accept-new': 'accept-new' }[r.strictHostKeyChecking];
      assert.equal(strict, one('stricthostkeychecking'));
      assert.equal(r.identitiesOnly ? 'yes' : 'no', one('identitiesonly'));
      assert.equal(r.exitOnForwardFailure ? 'yes' : 'no', one('exitonforwardfailure'));
      assert.equal(r.gatewayPorts ? 'yes' : 'no', one('gatewayports'));
      assert.deepEqual(r.userKnownHostsFiles, one('userknownhostsfile')?.split(' '));
      const forwards = [...(g.get('localforward') ?? []), ...(g.get('remoteforward') ?? []), ...(g.get('dynamicforward') ?? [])];
      assert.deepEqual(r.forwards.map(fwd).sort(), forwards.sort(), 'forwards');
      const sshIds = (g.get('identityfile') ?? []).map(expandHome);
      if (r.identityFiles.length === 3 && r.identityFiles[0].endsWith('id_rsa')) {
        for (const f of r.identityFiles) assert.ok(sshIds.includes(f), `${f} in ssh's defaults`);
      } else {
        assert.deepEqual(r.identityFiles, sshIds);
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------

describe('never throws on garbage', () => {
  const home = makeHome();
  const file = path.join(home, '.ssh', 'config');
  const configLine = fc.oneof(
    fc.string({ maxLength: 60 }),
    fc.constantFrom('Host ', 'Match ', 'Include ', 'Port ', 'LocalForward ', 'ProxyJump ', 'IdentityFile ', 'HostName ', '"', '%', '!', '*', '=', '#').chain((kw) =>
      fc.string({ maxLength: 30 }).map((rest) => kw + rest),
    ),
    fc.constantFrom('Match final', 'Match all', 'Host *', 'Include config', 'Include *', 'HostName %h%%%', 'Match !host *,!x user *'),
  );
  test('random config lines', () => {
    fc.assert(
      fc.property(fc.array(configLine, { maxLength: 25 }), fc.constantFrom('\n', '\r\n', '\r'), (lines, eol) => {
        fs.writeFileSync(file, lines.join(eol));
        const config = load(home);
        for (const h of config.hosts) config.resolve(h.alias);
        config.resolve('random.example.com');
        for (const p of config.problems) assert.ok(typeof p.message === 'string' && p.line >= 0);
      }),
      { numRuns: 400 },
    );
  });
  test('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        fs.writeFileSync(file, bytes);
        const config = load(home);
        for (const h of config.hosts) config.resolve(h.alias);
      }),
      { numRuns: 300 },
    );
  });
  test('random destinations: a result or a DestinationError', () => {
    const config = cfg('Host *\n  User x\n').config;
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (text) => {
        try {
          config.resolve(text);
        } catch (err) {
          assert.ok(err instanceof DestinationError, String(err));
        }
      }),
      { numRuns: 1000 },
    );
  });
});
