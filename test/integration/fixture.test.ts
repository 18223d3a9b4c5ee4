/**
 * Proves the test fixtures work, using the real OpenSSH client and ssh2
 * against the real sshd from test/fixtures/sshd.ts.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'ssh2';
import {
  startSshd, Sshd, freePort, writeSshConfig, sshConfigEntryFor, findSshdProcesses,
  KEY_PASSPHRASE, TEST_PASSWORD, TEST_USER,
} from '../fixtures/sshd';
import {
  startEchoServer, startHttpServer, startSinkServer, startSourceServer, echoThrough, readAllFrom,
  httpGet, sha256, waitForPort, waitForBound, isListening, socksConnect, bannerOf, TestServer, SinkServer,
} from '../fixtures/servers';

const SSH = '/usr/bin/ssh';

let sshd: Sshd;
let echo: TestServer;
const sshds: Sshd[] = [];
const servers: { close(): Promise<void> }[] = [];
const clients = new Set<ChildProcess>();

// ---------------------------------------------------------------- helpers

function baseArgs(s: Sshd, opts: { knownHosts?: string; key?: string } = {}): string[] {
  return [
    '-F', '/dev/null',
    '-i', opts.key ?? s.clientKey,
    '-o', 'IdentitiesOnly=yes',
    '-o', `UserKnownHostsFile=${opts.knownHosts ?? s.knownHostsFile}`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', 'BatchMode=yes',
    '-o', 'ConnectTimeout=10',
    '-p', String(s.port),
  ];
}

interface RunResult { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/** Run ssh to completion (killed after timeoutMs). */
function runSsh(args: string[], timeoutMs = 20000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(SSH, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    clients.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clients.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Start a long-running ssh (e.g. -N -L ...); stop it with stopClient(). */
function startSsh(args: string[]): ChildProcess & { stderrText: () => string } {
  const child = spawn(SSH, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  clients.add(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  child.on('error', () => { /* reported via exit */ });
  child.on('exit', () => clients.delete(child));
  return Object.assign(child, { stderrText: () => stderr });
}

async function stopClient(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) { clients.delete(child); return; }
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(t);
  clients.delete(child);
}

/** ps lines (pid stat args) of non-zombie processes whose args contain `needle` (or equal it when exact). */
function psMatching(needle: string, exact = false): Promise<string[]> {
  return new Promise((resolve, reject) => {
    execFile('ps', ['-eo', 'pid=,stat=,args='], { maxBuffer: 16 << 20 }, (err, stdout) => {
      if (err) return reject(err);
      resolve(stdout.split('\n').filter((l) => {
        const m = /^\s*(\d+)\s+(\S+)\s+(.*)$/.exec(l);
        if (!m || m[2]!.startsWith('Z')) return false;
        return exact ? m[3] === needle : m[3]!.includes(needle);
      }));
    });
  });
}

async function forward(s: Sshd, spec: string, flag: '-L' | '-D' = '-L'): Promise<{ child: ChildProcess & { stderrText: () => string }; port: number }> {
  const port = await freePort();
  const child = startSsh([...baseArgs(s), '-N', '-o', 'ExitOnForwardFailure=yes', flag, spec ? `127.0.0.1:${port}:${spec}` : `127.0.0.1:${port}`, `${s.user}@${s.host}`]);
  try {
    await waitForBound(port, true, 10000); // no probe connection through the tunnel
  } catch (e) {
    await stopClient(child);
    throw new Error(`${String(e)}\nssh stderr:\n${child.stderrText()}\nsshd log tail:\n${s.log().slice(-3000)}`);
  }
  return { child, port };
}

function ssh2Connect(s: Sshd, cfg: Record<string, unknown>): Promise<Client> {
  return new Promise((resolve, reject) => {
    const c = new Client();
    c.on('ready', () => resolve(c));
    c.on('error', reject);
    c.connect({
      host: s.host,
      port: s.port,
      username: s.user,
      readyTimeout: 10000,
      hostVerifier: (key: Buffer) => s.hostPublicKeys.some((k) => k.equals(key)),
      ...cfg,
    });
  });
}

function ssh2Exec(c: Client, cmd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    c.exec(cmd, (err, stream) => {
      if (err) return reject(err);
      let out = '';
      stream.on('data', (d: Buffer) => { out += d.toString(); });
      stream.stderr.on('data', () => { /* ignore */ });
      stream.on('close', () => resolve(out));
    });
  });
}

async function newSshd(...args: Parameters<typeof startSshd>): Promise<Sshd> {
  const s = await startSshd(...args);
  sshds.push(s);
  return s;
}

// ------------------------------------------------------------------ tests

before(async () => {
  sshd = await newSshd();
  echo = await startEchoServer();
  servers.push(echo);
});

after(async () => {
  await Promise.all([...clients].map(stopClient));
  await Promise.all(sshds.map((s) => s.dispose()));
  await Promise.all(servers.map((s) => s.close()));
});

test('fixture files: known_hosts, keys, config', () => {
  assert.equal(sshd.host, '127.0.0.1');
  assert.equal(sshd.user, TEST_USER);
  assert.equal(sshd.password, TEST_PASSWORD);
  assert.equal(sshd.hostPublicKeys.length, 3);
  assert.equal(sshd.hostKeyFiles.length, 3);
  const kh = fs.readFileSync(sshd.knownHostsFile, 'utf8').trim().split('\n');
  assert.equal(kh.length, 3);
  for (const line of kh) assert.match(line, new RegExp(`^\\[127\\.0\\.0\\.1\\]:${sshd.port} (ssh-ed25519|ecdsa-sha2-nistp256|ssh-rsa) `));
  assert.match(fs.readFileSync(sshd.clientKey, 'utf8'), /BEGIN OPENSSH PRIVATE KEY/);
  assert.equal(fs.readFileSync(path.join(sshd.dir, 'authorized_keys'), 'utf8').trim().split('\n').length, 2);
  assert.ok(sshd.pid > 0 && sshd.running);
  assert.match(sshd.log(), /Server listening on 127\.0\.0\.1 port/);
});

test('OpenSSH client logs in as the test user with the key and strict host key checking', async () => {
  const r = await runSsh([...baseArgs(sshd), `${sshd.user}@127.0.0.1`, 'echo ok; id -un']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `ok\n${TEST_USER}\n`);
});

test('OpenSSH client logs in as root with the key', async () => {
  const r = await runSsh([...baseArgs(sshd), 'root@127.0.0.1', 'echo ok; id -un']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'ok\nroot\n');
});

test('ssh2: password, keyboard-interactive and passphrased key auth; host key matches hostPublicKeys', async () => {
  const pw = await ssh2Connect(sshd, { password: TEST_PASSWORD, authHandler: ['password'] });
  assert.equal(await ssh2Exec(pw, 'id -un'), `${TEST_USER}\n`);
  pw.end();

  const kbd = new Promise<Client>((resolve, reject) => {
    const c = new Client();
    c.on('keyboard-interactive', (_n, _i, _l, prompts, finish) => finish(prompts.map(() => TEST_PASSWORD)));
    c.on('ready', () => resolve(c));
    c.on('error', reject);
    c.connect({
      host: sshd.host, port: sshd.port, username: sshd.user, readyTimeout: 10000, tryKeyboard: true,
      authHandler: ['keyboard-interactive'],
      hostVerifier: (key: Buffer) => sshd.hostPublicKeys.some((k) => k.equals(key)),
    });
  });
  const k = await kbd;
  assert.equal(await ssh2Exec(k, 'echo kbd'), 'kbd\n');
  k.end();

  const pp = await ssh2Connect(sshd, { privateKey: fs.readFileSync(sshd.clientKeyPassphrased), passphrase: KEY_PASSPHRASE });
  assert.equal(await ssh2Exec(pp, 'echo pp'), 'pp\n');
  pp.end();

  await assert.rejects(ssh2Connect(sshd, { password: 'wrong-password', authHandler: ['password'] }), /authentication methods failed/);
});

test('ssh -L carries bytes to the echo, http, sink and source servers', async () => {
  const body = 'hello through the tunnel\n';
  const httpSrv = await startHttpServer(body);
  const sink: SinkServer = await startSinkServer();
  const payload = randomBytes(512 * 1024);
  const source = await startSourceServer(payload);
  servers.push(httpSrv, sink, source);

  const fEcho = await forward(sshd, `127.0.0.1:${echo.port}`);
  const fHttp = await forward(sshd, `127.0.0.1:${httpSrv.port}`);
  const fSink = await forward(sshd, `127.0.0.1:${sink.port}`);
  const fSource = await forward(sshd, `127.0.0.1:${source.port}`);
  try {
    const data = randomBytes(1024 * 1024);
    const back = await echoThrough(fEcho.port, data);
    assert.equal(sha256(back), sha256(data));
    assert.equal((await echoThrough(fEcho.port, Buffer.from('x'))).toString(), 'x');

    assert.deepEqual(await httpGet(fHttp.port), { status: 200, body });
    assert.equal((await httpGet(fHttp.port, '/nope')).status, 404);

    await new Promise<void>((resolve, reject) => {
      const s = net.connect(fSink.port, '127.0.0.1', () => s.end(payload));
      s.on('error', reject);
      s.on('close', () => resolve());
      s.resume();
    });
    const res = await sink.nextResult();
    assert.deepEqual(res, { bytes: payload.length, sha256: sha256(payload), ended: true });

    assert.equal(sha256(await readAllFrom(fSource.port)), sha256(payload));
  } finally {
    await Promise.all([fEcho, fHttp, fSink, fSource].map((f) => stopClient(f.child)));
  }
  await waitForPort(fEcho.port, false, 5000);
});

test('ssh -D: SOCKS5 (IP and domain) and SOCKS4/4a reach the echo server', async () => {
  const d = await forward(sshd, '', '-D');
  try {
    for (const [host, version] of [['127.0.0.1', 5], ['localhost', 5], ['127.0.0.1', 4], ['localhost', 4]] as const) {
      const sock = await socksConnect(d.port, host, echo.port, version);
      const got = await new Promise<string>((resolve, reject) => {
        let buf = '';
        sock.on('data', (b: Buffer) => { buf += b.toString(); });
        sock.on('end', () => resolve(buf));
        sock.on('error', reject);
        sock.end(`socks${version} ${host}`);
      });
      sock.destroy();
      assert.equal(got, `socks${version} ${host}`);
    }
    const closedPort = await freePort();
    await assert.rejects(socksConnect(d.port, '127.0.0.1', closedPort, 5), /SOCKS5|closed/);
  } finally {
    await stopClient(d.child);
  }
});

test('extraConfig lines override the defaults; authorized keys can be omitted', async () => {
  const s = await newSshd({ extraConfig: ['AllowTcpForwarding no'], authorizePassphrasedKey: false, hostKeyTypes: ['ed25519'] });
  assert.match(fs.readFileSync(s.configFile, 'utf8'), /^AllowTcpForwarding no$/m);
  assert.equal(s.hostPublicKeys.length, 1);
  const f = await forward(s, `127.0.0.1:${echo.port}`);
  try {
    const got = await echoThrough(f.port, Buffer.from('blocked')).catch(() => Buffer.alloc(0));
    assert.equal(got.length, 0, 'forwarding should be refused');
    await s.waitForLog(/refused local port forward|administratively prohibited/i);
  } finally {
    await stopClient(f.child);
  }
  await assert.rejects(
    ssh2Connect(s, { privateKey: fs.readFileSync(s.clientKeyPassphrased), passphrase: KEY_PASSPHRASE }),
    /authentication methods failed/,
  );
  const ok = await ssh2Connect(s, { privateKey: fs.readFileSync(s.clientKey) });
  ok.end();
});

test('restart keeps the port and host keys; known_hosts stays valid', async () => {
  const s = await newSshd();
  const { port, pid } = s;
  const keys = s.hostPublicKeys.map((k) => k.toString('base64'));
  await s.restart();
  assert.equal(s.port, port);
  assert.notEqual(s.pid, pid);
  assert.deepEqual(s.hostPublicKeys.map((k) => k.toString('base64')), keys);
  const r = await runSsh([...baseArgs(s), `${s.user}@127.0.0.1`, 'echo ok']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'ok\n');
});

test('regenerateHostKeys: old known_hosts is rejected, refreshed one accepted', async () => {
  const s = await newSshd({ hostKeyTypes: ['ed25519', 'rsa'] });
  const oldKh = path.join(s.dir, 'known_hosts.old');
  fs.copyFileSync(s.knownHostsFile, oldKh);
  const before = s.hostKeyFingerprints;
  await s.regenerateHostKeys();
  assert.notDeepEqual(s.hostKeyFingerprints, before);
  const bad = await runSsh([...baseArgs(s, { knownHosts: oldKh }), `${s.user}@127.0.0.1`, 'echo ok']);
  assert.equal(bad.code, 255);
  assert.match(bad.stderr, /REMOTE HOST IDENTIFICATION HAS CHANGED/);
  s.writeKnownHosts();
  const good = await runSsh([...baseArgs(s), `${s.user}@127.0.0.1`, 'echo ok']);
  assert.equal(good.code, 0, good.stderr);
});

test('pause() stalls the server (no banner), resume() brings it back', async () => {
  const s = await newSshd({ hostKeyTypes: ['ed25519'] });
  s.pause();
  try {
    assert.equal(await bannerOf(s.port, '127.0.0.1', 1000), '', 'a paused sshd sends no banner');
  } finally {
    s.resume();
  }
  assert.match(await bannerOf(s.port), /^SSH-2\.0-OpenSSH/);
  const r = await runSsh([...baseArgs(s), `${s.user}@127.0.0.1`, 'echo ok']);
  assert.equal(r.code, 0, r.stderr);
});

test('stop() kills the listener, per-connection children and session processes', async () => {
  const s = await newSshd({ hostKeyTypes: ['ed25519'] });
  const marker = `sleep ${3000 + Math.floor(Math.random() * 5000)}`;
  const session = startSsh([...baseArgs(s), `${s.user}@127.0.0.1`, marker]);
  const root = startSsh([...baseArgs(s), 'root@127.0.0.1', marker]);
  const f = await forward(s, `127.0.0.1:${echo.port}`);
  assert.equal((await echoThrough(f.port, Buffer.from('hi'))).toString(), 'hi');
  const deadline = Date.now() + 10000;
  while ((await psMatching(marker, true)).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.equal((await psMatching(marker, true)).length, 2, 'both remote sleeps should be running');
  assert.ok(s.childPids().length >= 6, `expected sshd children, got ${s.childPids().length}`);
  assert.ok((await psMatching(s.configFile)).length >= 1);

  // sshd leaves a non-pty command running when its client goes away.
  await stopClient(root);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal((await psMatching(marker, true)).length, 2, 'the orphaned remote sleep keeps running');

  await s.stop();
  assert.equal(s.running, false);
  assert.deepEqual(await psMatching(s.configFile), []);
  assert.deepEqual(await psMatching(marker, true), []);
  assert.deepEqual(findSshdProcesses(s.dir, s.port), []);
  assert.deepEqual(s.processes(), []);
  assert.equal(await isListening(s.port), false);
  await Promise.all([stopClient(session), stopClient(f.child)]);
});

test('after kill(SIGKILL) of the listener, stop() still finds the orphaned children', async () => {
  const s = await newSshd({ hostKeyTypes: ['ed25519'] });
  const marker = `sleep ${9000 + Math.floor(Math.random() * 5000)}`;
  const session = startSsh([...baseArgs(s), `${s.user}@127.0.0.1`, marker]);
  const deadline = Date.now() + 10000;
  while ((await psMatching(marker, true)).length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.equal((await psMatching(marker, true)).length, 1);
  s.kill('SIGKILL');
  await waitForPort(s.port, false, 5000);
  assert.ok(findSshdProcesses(s.dir).length >= 2, 'orphaned per-connection sshd processes should still run');
  await s.stop();
  assert.deepEqual(findSshdProcesses(s.dir, s.port), []);
  assert.deepEqual(await psMatching(marker, true), []);
  await stopClient(session);
  // The same port can be reused by a fresh start.
  await s.restart();
  const r = await runSsh([...baseArgs(s), `${s.user}@127.0.0.1`, 'echo ok']);
  assert.equal(r.code, 0, r.stderr);
});

test('writeSshConfig: alias and ProxyJump through the same sshd', async () => {
  const cfg = writeSshConfig(sshd.dir, [
    sshConfigEntryFor(sshd, 'fixture-jump'),
    sshConfigEntryFor(sshd, 'fixture-target', { user: 'root', proxyJump: 'fixture-jump', extra: { BatchMode: 'yes' } }),
  ], 'ssh_config_test');
  const text = fs.readFileSync(cfg, 'utf8');
  assert.match(text, /^Host fixture-target$/m);
  assert.match(text, /^ {2}ProxyJump fixture-jump$/m);
  const r = await runSsh(['-F', cfg, '-o', 'BatchMode=yes', 'fixture-target', 'id -un']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'root\n');
  await sshd.waitForLog(/direct-tcpip/);
});

test('freePort: two test processes asking at once never get the same port, all below the ephemeral range', async () => {
  // Each child takes 300 ports and keeps its claims until both have answered (stdin closes).
  // 300 random picks each from 8192 ports would share ~11 without the claims.
  const script = `const { freePort } = require(${JSON.stringify(path.join(__dirname, '..', 'fixtures', 'sshd.js'))});
    (async () => { const ps = []; for (let i = 0; i < 300; i++) ps.push(await freePort());
      process.stdout.write(JSON.stringify(ps) + '\\n'); process.stdin.resume(); process.stdin.on('end', () => process.exit(0)); })();`;
  const children = [0, 1].map(() => spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] }));
  try {
    const lists = await Promise.all(children.map((c) => new Promise<number[]>((resolve, reject) => {
      let out = '';
      c.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(JSON.parse(out) as number[]);
      });
      c.on('error', reject);
      c.on('exit', (code) => reject(new Error(`freePort child exited ${code} before answering`)));
    })));
    const ephemeralLow = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    for (const list of lists) {
      assert.equal(new Set(list).size, 300, 'one process is never given a port twice');
      assert.ok(list.every((p) => p < ephemeralLow), `ports at or above ${ephemeralLow}: ${list.filter((p) => p >= ephemeralLow).join(', ')}`);
    }
    const shared = lists[0]!.filter((p) => lists[1]!.includes(p));
    assert.deepEqual(shared, [], 'ports handed to both processes');
  } finally {
    await Promise.all(children.map((c) => new Promise((r) => { c.on('exit', r); if (c.exitCode !== null) r(null); else c.stdin!.end(); })));
  }
  // Their claims went with them.
  const claims = path.join(os.tmpdir(), 'sshtunnels-test-ports');
  const ownerOf = (f: string): string => { try { return fs.readFileSync(path.join(claims, f), 'utf8'); } catch { return ''; } };
  const left = fs.readdirSync(claims).filter((f) => children.some((c) => ownerOf(f) === String(c.pid)));
  assert.deepEqual(left, [], 'claims of the exited processes');
});
