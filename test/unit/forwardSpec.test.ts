import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { ForwardKind, ForwardSpec } from '../../src/core/model';
import {
  ForwardSpecError,
  bindsNonLoopback,
  effectiveBindAddress,
  formatForwardConfig,
  formatForwardFlag,
  formatForwardSpec,
  isLoopbackAddress,
  parseForwardArgument,
  parseForwardSpec,
  parseSshCommand,
} from '../../src/core/forwardSpec';

const L = (bindPort: number, targetHost: string, targetPort: number, bindAddress?: string): ForwardSpec =>
  bindAddress === undefined
    ? { kind: 'local', bindPort, targetHost, targetPort }
    : { kind: 'local', bindAddress, bindPort, targetHost, targetPort };
const R = (bindPort: number, targetHost?: string, targetPort?: number, bindAddress?: string): ForwardSpec => {
  const spec: ForwardSpec = { kind: 'remote', bindPort };
  if (bindAddress !== undefined) spec.bindAddress = bindAddress;
  if (targetHost !== undefined) Object.assign(spec, { targetHost, targetPort });
  return spec;
};
const D = (bindPort: number, bindAddress?: string): ForwardSpec =>
  bindAddress === undefined ? { kind: 'dynamic', bindPort } : { kind: 'dynamic', bindAddress, bindPort };

/** Asserts a ForwardSpecError whose message matches `message` and shows an example. */
function assertSpecError(run: () => unknown, message: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof ForwardSpecError, `not a ForwardSpecError: ${String(error)}`);
    assert.match(error.message, message);
    assert.ok(error.example.length > 0);
    assert.ok(error.message.endsWith(`Example: ${error.example}`), error.message);
    return true;
  });
}

type Good = [kind: ForwardKind, text: string, expected: ForwardSpec];
type Bad = [kind: ForwardKind, text: string, message: RegExp];

const GOOD: Good[] = [
  ['local', '9999:mailserver:110', L(9999, 'mailserver', 110)],
  ['local', '127.0.0.1:9999:mailserver:110', L(9999, 'mailserver', 110, '127.0.0.1')],
  ['local', 'localhost:9999:mailserver:110', L(9999, 'mailserver', 110, 'localhost')],
  ['local', '*:9999:mailserver:110', L(9999, 'mailserver', 110, '*')],
  ['local', ':9999:mailserver:110', L(9999, 'mailserver', 110, '')],
  ['local', '0.0.0.0:9999:mailserver:110', L(9999, 'mailserver', 110, '0.0.0.0')],
  ['local', '0:mailserver:110', L(0, 'mailserver', 110)],
  ['local', '65535:h:65535', L(65535, 'h', 65535)],
  ['local', '1:h:1', L(1, 'h', 1)],
  ['local', '08080:h:0080', L(8080, 'h', 80)],
  ['local', '  9999:mailserver:110  ', L(9999, 'mailserver', 110)],
  ['local', '[::1]:9999:[fe80::1]:80', L(9999, 'fe80::1', 80, '::1')],
  ['local', '[::1]:9999:mailserver:110', L(9999, 'mailserver', 110, '::1')],
  ['local', '9999:[2001:db8::5]:443', L(9999, '2001:db8::5', 443)],
  ['local', '9999:[fe80::1%eth0]:22', L(9999, 'fe80::1%eth0', 22)],
  ['local', '[]:9999:h:80', L(9999, 'h', 80, '')],
  ['local', '[localhost]:9999:h:80', L(9999, 'h', 80, 'localhost')],
  ['local', '9999 mailserver:110', L(9999, 'mailserver', 110)],
  ['local', '127.0.0.1:9999 mailserver:110', L(9999, 'mailserver', 110, '127.0.0.1')],
  ['local', '[::1]:9999\t[fe80::1]:80', L(9999, 'fe80::1', 80, '::1')],
  ['local', ':9999 mailserver:110', L(9999, 'mailserver', 110, '')],
  ['local', '::1/9999/fe80::1/80', L(9999, 'fe80::1', 80, '::1')],
  ['local', '9999/mailserver/110', L(9999, 'mailserver', 110)],
  ['local', '9999:my-host.example.com:80', L(9999, 'my-host.example.com', 80)],
  ['local', '9999:10.0.0.5:5432', L(9999, '10.0.0.5', 5432)],
  ['local', '9999:münchen.example:80', L(9999, 'münchen.example', 80)],
  ['local', `9999:${'a'.repeat(255)}:80`, L(9999, 'a'.repeat(255), 80)],
  ['remote', '8080:localhost:80', R(8080, 'localhost', 80)],
  ['remote', '0:localhost:80', R(0, 'localhost', 80)],
  ['remote', '*:8080:localhost:80', R(8080, 'localhost', 80, '*')],
  ['remote', '1080', R(1080)],
  ['remote', '0', R(0)],
  ['remote', '127.0.0.1:1080', R(1080, undefined, undefined, '127.0.0.1')],
  ['remote', '[::]:1080', R(1080, undefined, undefined, '::')],
  ['remote', '8080 localhost:80', R(8080, 'localhost', 80)],
  ['dynamic', '1080', D(1080)],
  ['dynamic', '0', D(0)],
  ['dynamic', 'localhost:1080', D(1080, 'localhost')],
  ['dynamic', '*:1080', D(1080, '*')],
  ['dynamic', ':1080', D(1080, '')],
  ['dynamic', '[::1]:1080', D(1080, '::1')],
  ['dynamic', '::1/1080', D(1080, '::1')],
];

const BAD: Bad[] = [
  ['local', '', /empty/],
  ['local', '   ', /empty/],
  ['local', '65536:h:80', /Listen port "65536" is out of range: use 0-65535/],
  ['local', '9999:h:65536', /Target port "65536" is out of range: use 1-65535/],
  ['local', '9999:h:0', /Target port "0" is out of range/],
  ['local', '99999999999999999999:h:80', /Listen port "9+" is out of range/],
  ['local', 'abc:h:80', /Listen port "abc" is not a number/],
  ['local', '9999:h:abc', /Target port "abc" is not a number/],
  ['local', '-1:h:80', /Listen port "-1" is negative/],
  ['local', '9999:h:-1', /Target port "-1" is negative/],
  ['local', '1.5:h:80', /Listen port "1.5" is not a whole number/],
  ['local', '9999:h:80.0', /Target port "80.0" is not a whole number/],
  ['local', '0x50:h:80', /Listen port "0x50" is not a number/],
  ['local', '+80:h:80', /Listen port "\+80" is not a number/],
  ['local', '9999:h:http', /Target port "http" is a service name.*http is 80/],
  ['local', '9999:h:HTTPS', /Target port "HTTPS" is a service name.*HTTPS is 443/],
  ['local', 'ssh:h:80', /Listen port "ssh" is a service name/],
  ['local', '9999:h:', /Target port is missing/],
  ['local', ':h:80', /Listen port is missing/],
  ['local', '9999::80', /Target host "" is empty/],
  ['local', 'a::9999:h:80', /too many ":"-separated parts \(5\).*brackets/],
  ['local', '1:2:3:4:5', /too many ":"-separated parts/],
  ['local', 'fe80::1:9999:h:80', /too many ":"-separated parts/],
  ['local', '9999', /has no target: -L needs/],
  ['local', '127.0.0.1:9999', /has no target/],
  ['local', '[::1:9999:h:80', /Unbalanced "\["/],
  ['local', '::1]:9999:h:80', /Unbalanced brackets/],
  ['local', '9999:h]:80', /Unbalanced brackets/],
  ['local', '[::1]x:9999:h:80', /Unexpected "x:9999:h:80" after "\]"/],
  ['local', '[::1]9999:h:80', /Unexpected .* after "\]"/],
  ['local', '/tmp/sock:h:80', /Unix-domain socket forwards are not supported yet; forward a TCP port instead/],
  ['local', '9999:/var/run/docker.sock', /Unix-domain socket/],
  ['local', '/tmp/sock', /Unix-domain socket/],
  ['local', '[/tmp/sock]:h:80', /Unix-domain socket/],
  ['remote', '/tmp/remote.sock:/tmp/local.sock', /Unix-domain socket/],
  ['local', '9999:-oProxyCommand=x:80', /Target host "-oProxyCommand=x" starts with "-".*option/],
  ['local', '-bind:9999:h:80', /Bind address "-bind" starts with "-"/],
  ['local', `9999:${'a'.repeat(256)}:80`, /longer than 255/],
  ['local', '9999:h\x01:80', /control character/],
  ['local', '9999:h\\x:80', /backslash/],
  ['local', '9999:h"x:80', /quote/],
  ['local', '9999 mailserver', /"mailserver" after the space must be host:hostport/],
  ['local', '9999 a:b:c', /after the space must be host:hostport/],
  ['local', '1:2:3 h:80', /before the space must be \[bind_address:\]port/],
  ['local', '9999 h:80 extra', /too many space-separated parts/],
  ['local', '9999 h:', /Target port is missing/],
  ['remote', '65536', /Listen port "65536" is out of range: use 0-65535 \(0 lets the server pick\)/],
  ['remote', '8080:localhost:0', /Target port "0" is out of range/],
  ['remote', 'x:y', /Listen port "y" is not a number/],
  ['dynamic', '1080:h:80', /-D takes only \[bind_address:\]port, not a target/],
  ['dynamic', '1080 h:80', /-D takes only/],
  ['dynamic', '::1:1080', /-D takes only.*brackets/],
  ['dynamic', '65536', /Listen port "65536" is out of range: use 0-65535 \(0 lets the OS pick\)/],
  ['dynamic', 'socks', /Listen port "socks" is not a number/],
];

describe('parseForwardSpec table', () => {
  for (const [kind, text, expected] of GOOD) {
    test(`${kind} ${JSON.stringify(text)} parses`, () => {
      assert.deepEqual(parseForwardSpec(kind, text), expected);
    });
  }
  for (const [kind, text, message] of BAD) {
    test(`${kind} ${JSON.stringify(text.length > 60 ? text.slice(0, 60) + '…' : text)} is refused`, () => {
      assertSpecError(() => parseForwardSpec(kind, text), message);
    });
  }
  test('the table is big enough', () => assert.ok(GOOD.length + BAD.length >= 70));
  test('errors show a valid example of the same kind', () => {
    assert.throws(
      () => parseForwardSpec('local', '65536:h:80'),
      (e: unknown) => e instanceof ForwardSpecError && e.example === '-L 9999:mailserver:110' && e.name === 'ForwardSpecError',
    );
    assert.throws(() => parseForwardSpec('remote', 'x'), (e: unknown) => e instanceof ForwardSpecError && /^-R /.test(e.example));
    assert.throws(() => parseForwardSpec('dynamic', 'x'), (e: unknown) => e instanceof ForwardSpecError && e.example === '-D 1080');
  });
});

describe('parseForwardArgument', () => {
  const cases: [string, ForwardSpec][] = [
    ['-L 9999:mailserver:110', L(9999, 'mailserver', 110)],
    ['-L9999:mailserver:110', L(9999, 'mailserver', 110)],
    ['L 9999:mailserver:110', L(9999, 'mailserver', 110)],
    ['  -L   127.0.0.1:9999:mailserver:110 ', L(9999, 'mailserver', 110, '127.0.0.1')],
    ['-L "9999 mailserver:110"', L(9999, 'mailserver', 110)],
    ["-L '[::1]:9999:[fe80::1]:80'", L(9999, 'fe80::1', 80, '::1')],
    ['LocalForward 9999 mailserver:110', L(9999, 'mailserver', 110)],
    ['LocalForward=9999 mailserver:110', L(9999, 'mailserver', 110)],
    ['localforward = 9999 mailserver:110', L(9999, 'mailserver', 110)],
    ['LOCALFORWARD 127.0.0.1:9999 mailserver:110', L(9999, 'mailserver', 110, '127.0.0.1')],
    ['RemoteForward 8080 localhost:80', R(8080, 'localhost', 80)],
    ['RemoteForward 1080', R(1080)],
    ['DynamicForward 1080', D(1080)],
    ['DynamicForward=localhost:1080', D(1080, 'localhost')],
    ['-D 1080', D(1080)],
    ['-D1080', D(1080)],
    ['D 1080', D(1080)],
    ['-R 8080:localhost:80', R(8080, 'localhost', 80)],
    ['R 0:localhost:80', R(0, 'localhost', 80)],
  ];
  for (const [text, expected] of cases) {
    test(JSON.stringify(text), () => assert.deepEqual(parseForwardArgument(text), expected));
  }
  const bad: [string, RegExp][] = [
    ['9999:mailserver:110', /prefix -L \(local\), -R \(remote\) or -D/],
    ['ssh -L 1:h:2 host', /prefix -L/],
    ['', /empty/],
    ['-L', /-L needs a value/],
    ['LocalForward', /LocalForward needs a value/],
    ['-L "9999:h:80', /Unclosed " quote/],
    ['-L 9999:h:80\\', /lone backslash/],
    ['-X 9999:h:80', /prefix -L/],
    ['-L 65536:h:80', /out of range/],
  ];
  for (const [text, message] of bad) {
    test(`${JSON.stringify(text)} is refused`, () => assertSpecError(() => parseForwardArgument(text), message));
  }
});

describe('parseSshCommand', () => {
  const base = { gatewayPorts: false, identityFiles: [], jumpHosts: [], options: {} };
  const cases: [string, object][] = [
    ['ssh -L 9999:mailserver:110 shellserver', { ...base, destination: 'shellserver', forwards: [L(9999, 'mailserver', 110)] }],
    [
      'ssh -N -f -L 8080:localhost:80 -R 9000:localhost:9000 -p 2222 -i ~/.ssh/id user@host',
      {
        ...base,
        destination: 'host',
        user: 'user',
        port: 2222,
        identityFiles: ['~/.ssh/id'],
        forwards: [L(8080, 'localhost', 80), R(9000, 'localhost', 9000)],
      },
    ],
    [
      'ssh -o ExitOnForwardFailure=yes -D 1080 -J bastion db',
      { ...base, destination: 'db', forwards: [D(1080)], jumpHosts: ['bastion'], options: { exitonforwardfailure: 'yes' } },
    ],
    ['ssh ssh://user@host:2222', { ...base, destination: 'host', user: 'user', port: 2222, forwards: [] }],
    ['ssh ssh://[::1]/', { ...base, destination: '::1', forwards: [] }],
    ['ssh ssh://us%40er;fp=x@host', { ...base, destination: 'host', user: 'us@er', forwards: [] }],
    ['/usr/bin/ssh -fNg -L9999:h:80 -lroot host', { ...base, destination: 'host', user: 'root', gatewayPorts: true, forwards: [L(9999, 'h', 80)] }],
    ['ssh -vvv -CTx host', { ...base, destination: 'host', forwards: [] }],
    ['ssh host -L 1:h:2 uptime -L 3:h:4', { ...base, destination: 'host', forwards: [L(1, 'h', 2)] }],
    ['ssh -- host -L 1:h:2', { ...base, destination: 'host', forwards: [] }],
    ['ssh -l first second@host -l third', { ...base, destination: 'host', user: 'first', forwards: [] }],
    ['ssh -p 22 -p 23 -o Port=24 host', { ...base, destination: 'host', port: 22, forwards: [] }],
    ['ssh a@b@host', { ...base, destination: 'host', user: 'a@b', forwards: [] }],
    [
      `ssh -o LocalForward=9999\\ x:1 -o "RemoteForward 8080 localhost:80" -o 'DynamicForward 1080' host`,
      { ...base, destination: 'host', forwards: [L(9999, 'x', 1), R(8080, 'localhost', 80), D(1080)] },
    ],
    [
      'ssh -o User=u -o IdentityFile=k -o ProxyJump=j1,j2 -o GatewayPorts=yes -o ServerAliveInterval=30 host',
      { ...base, destination: 'host', user: 'u', identityFiles: ['k'], jumpHosts: ['j1', 'j2'], gatewayPorts: true, options: { serveraliveinterval: '30' }, forwards: [] },
    ],
    ['ssh -J a,b -J c host', { ...base, destination: 'host', jumpHosts: ['a', 'b', 'c'], forwards: [] }],
    ['ssh \\\n  -L 9999:h:80 \\\r\n  host', { ...base, destination: 'host', forwards: [L(9999, 'h', 80)] }],
    ['ssh -F /dev/null -E log -c aes128-ctr -m hmac-sha2-256 -b 10.0.0.1 -e none -S none -O check -W h:1 -w 0 -B eth0 -I p -P t -Q cipher -46AaGKkMnqstVXYy host', { ...base, destination: 'host', forwards: [] }],
    [`ssh "my-"'alias'\\x`, { ...base, destination: 'my-aliasx', forwards: [] }],
  ];
  for (const [text, expected] of cases) {
    test(JSON.stringify(text), () => assert.deepEqual(parseSshCommand(text), expected));
  }
  const bad: [string, RegExp][] = [
    ['ssh -L 9999:mailserver:110', /no destination/],
    ['ssh', /no destination/],
    ['ssh -Z host', /Unknown ssh option "-Z"/],
    ['ssh -fZ host', /Unknown ssh option "-Z"/],
    ['ssh host -L', /-L needs an argument/],
    ['ssh -p', /-p needs an argument/],
    ['scp -L 1:h:2 host', /Not an ssh command: it must start with "ssh"/],
    ['-L 9999:mailserver:110', /Not an ssh command/],
    ['', /Not an ssh command/],
    ['ssh -p abc host', /Bad ssh port "abc" in -p/],
    ['ssh -p 0 host', /Bad ssh port "0"/],
    ['ssh ssh://host:99999', /Bad ssh port "99999"/],
    ['ssh ssh://host/path', /not a valid ssh:\/\/ URI/],
    ['ssh ssh://%zz@host', /bad %-escape/],
    ['ssh @host', /user name before "@".*is empty/],
    ['ssh user@', /Destination host "" is empty/],
    ['ssh -- -oProxyCommand=x', /Destination host "-oProxyCommand=x" starts with "-"/],
    ['ssh -o ExitOnForwardFailure host', /-o "ExitOnForwardFailure" needs a keyword and a value/],
    ['ssh -L 65536:h:80 host', /Listen port "65536" is out of range/],
    ['ssh -o LocalForward=/tmp/s host', /Unix-domain socket/],
    ["ssh -L '9999:h:80 host", /Unclosed ' quote/],
    ['ssh "my host"', /Destination host "my host" contains a space/],
  ];
  for (const [text, message] of bad) {
    test(`${JSON.stringify(text)} is refused`, () => assertSpecError(() => parseSshCommand(text), message));
  }
});

describe('formatting', () => {
  const cases: [ForwardSpec, string, string, string][] = [
    [L(9999, 'mailserver', 110, '127.0.0.1'), '127.0.0.1:9999:mailserver:110', '-L 127.0.0.1:9999:mailserver:110', 'LocalForward 127.0.0.1:9999 mailserver:110'],
    [L(9999, 'mailserver', 110), '9999:mailserver:110', '-L 9999:mailserver:110', 'LocalForward 9999 mailserver:110'],
    [L(9999, 'fe80::1', 80, '::1'), '[::1]:9999:[fe80::1]:80', '-L [::1]:9999:[fe80::1]:80', 'LocalForward [::1]:9999 [fe80::1]:80'],
    [L(9999, 'h', 80, ''), ':9999:h:80', '-L :9999:h:80', 'LocalForward :9999 h:80'],
    [L(9999, 'h', 80, '*'), '*:9999:h:80', '-L *:9999:h:80', 'LocalForward *:9999 h:80'],
    [R(8080, 'localhost', 80), '8080:localhost:80', '-R 8080:localhost:80', 'RemoteForward 8080 localhost:80'],
    [R(1080), '1080', '-R 1080', 'RemoteForward 1080'],
    [D(1080), '1080', '-D 1080', 'DynamicForward 1080'],
    [D(1080, 'localhost'), 'localhost:1080', '-D localhost:1080', 'DynamicForward localhost:1080'],
  ];
  for (const [spec, value, flag, config] of cases) {
    test(`${flag} formats and parses back`, () => {
      assert.equal(formatForwardSpec(spec), value);
      assert.equal(formatForwardFlag(spec), flag);
      assert.equal(formatForwardConfig(spec), config);
      assert.deepEqual(parseForwardSpec(spec.kind, value), spec);
      assert.deepEqual(parseForwardArgument(flag), spec);
      assert.deepEqual(parseForwardArgument(config), spec);
    });
  }
});

describe('bind addresses', () => {
  test('isLoopbackAddress', () => {
    for (const a of ['127.0.0.1', '127.1.2.3', '127.255.255.255', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST', '::1%lo']) {
      assert.equal(isLoopbackAddress(a), true, a);
    }
    for (const a of ['', '*', '0.0.0.0', '::', '10.0.0.1', '128.0.0.1', '::2', '::ffff:10.0.0.1', 'example.com', 'localhost.example.com', '127.0.0.1.example.com', '127.0.0.256']) {
      assert.equal(isLoopbackAddress(a), false, a);
    }
  });
  test('bindsNonLoopback', () => {
    assert.equal(bindsNonLoopback(L(1, 'h', 2)), false);
    for (const a of ['127.0.0.1', 'localhost', '::1']) assert.equal(bindsNonLoopback(L(1, 'h', 2, a)), false, a);
    for (const a of ['*', '', '0.0.0.0', '::', '192.168.1.5', 'myhost']) assert.equal(bindsNonLoopback(D(1, a)), true, a);
  });
  test('effectiveBindAddress', () => {
    assert.equal(effectiveBindAddress(L(1, 'h', 2)), '127.0.0.1');
    assert.equal(effectiveBindAddress(L(1, 'h', 2), true), '0.0.0.0');
    assert.equal(effectiveBindAddress(D(1, 'localhost')), '127.0.0.1');
    assert.equal(effectiveBindAddress(D(1, 'localhost'), true), '127.0.0.1');
    assert.equal(effectiveBindAddress(D(1, '*')), '0.0.0.0');
    assert.equal(effectiveBindAddress(D(1, '')), '0.0.0.0');
    assert.equal(effectiveBindAddress(D(1, '::1')), '::1');
    assert.equal(effectiveBindAddress(D(1, '192.168.1.5')), '192.168.1.5');
  });
});

describe('properties', () => {
  const host = fc.oneof(
    fc.constant('localhost'),
    fc.ipV4(),
    fc.ipV6(),
    fc.domain(),
    fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9._%-]{0,30}$/),
  );
  const bindAddress = fc.option(fc.oneof(fc.constant('*'), fc.constant(''), host), { nil: undefined });
  const listen = fc.record({ bindAddress, bindPort: fc.integer({ min: 0, max: 65535 }) }, { requiredKeys: ['bindPort'] });
  const target = fc.record({ targetHost: host, targetPort: fc.integer({ min: 1, max: 65535 }) });
  const strip = (spec: ForwardSpec): ForwardSpec =>
    Object.fromEntries(Object.entries(spec).filter(([, v]) => v !== undefined)) as ForwardSpec;
  const spec: fc.Arbitrary<ForwardSpec> = fc.oneof(
    fc.tuple(listen, target).map(([l, t]) => strip({ kind: 'local', ...l, ...t })),
    fc.tuple(listen, target).map(([l, t]) => strip({ kind: 'remote', ...l, ...t })),
    listen.map((l) => strip({ kind: 'remote', ...l })),
    listen.map((l) => strip({ kind: 'dynamic', ...l })),
  );

  test('format → parse gives the spec back, in all three forms', () => {
    fc.assert(
      fc.property(spec, (s) => {
        assert.deepEqual(parseForwardSpec(s.kind, formatForwardSpec(s)), s);
        assert.deepEqual(parseForwardArgument(formatForwardFlag(s)), s);
        assert.deepEqual(parseForwardArgument(formatForwardConfig(s)), s);
        assert.deepEqual(parseSshCommand(`ssh ${formatForwardFlag(s)} host`).forwards, [s]);
      }),
      { numRuns: 2000 },
    );
  });

  const kind = fc.constantFrom<ForwardKind>('local', 'remote', 'dynamic');
  const noisy = fc.oneof(
    fc.string(),
    fc.string({ unit: fc.constantFrom(...':[]/\\ -*.0123456789abcLRD"\'=@\t'.split('')), maxLength: 30 }),
    fc.string({ unit: 'binary', maxLength: 30 }),
  );
  const onlySpecErrors = (run: () => unknown): void => {
    try {
      run();
    } catch (error) {
      if (!(error instanceof ForwardSpecError)) throw error;
    }
  };

  test('arbitrary text throws nothing but ForwardSpecError', () => {
    fc.assert(
      fc.property(kind, noisy, (k, text) => {
        onlySpecErrors(() => parseForwardSpec(k, text));
        onlySpecErrors(() => parseForwardArgument(text));
        onlySpecErrors(() => parseForwardArgument(`-${k[0].toUpperCase()} ${text}`));
        onlySpecErrors(() => parseSshCommand(text));
        onlySpecErrors(() => parseSshCommand(`ssh ${text}`));
      }),
      { numRuns: 3000 },
    );
  });

  test('whatever parses, formats to something that parses the same', () => {
    fc.assert(
      fc.property(kind, noisy, (k, text) => {
        let parsed: ForwardSpec;
        try {
          parsed = parseForwardSpec(k, text);
        } catch {
          return;
        }
        assert.deepEqual(parseForwardSpec(k, formatForwardSpec(parsed)), parsed);
      }),
      { numRuns: 3000 },
    );
  });
});
