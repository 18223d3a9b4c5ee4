/**
 * `npm run bench` still runs end to end: built as `npm run bench` builds it (into a folder of its
 * own), then a tiny run — one round, 8 MiB transfers, one cipher, one lane — against the real sshd
 * and `ssh` it starts itself. Asserted: it finishes, every forwarder's transfer in every direction
 * arrived intact (the bench fails a transfer whose bytes differ) and every short-connection row
 * has its connections with no failure; the report has its tables. Never a rate or a ratio: those
 * are the benchmark's to report, not a test's to judge.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';

const repo = path.resolve(__dirname, '..', '..', '..');
const buildDir = path.join('out', 'bench-smoke');

interface Row { perSecond?: number; failures?: number; connections?: number; mbps?: number }

let built: ReturnType<typeof spawnSync> | undefined;
/** Builds the bench into buildDir once for this file's tests (as `npm run bench` builds it). */
function build(): void {
  built ??= spawnSync(process.execPath, ['bench/build.mjs'], { cwd: repo, env: { ...process.env, BENCH_BUILD_DIR: buildDir }, encoding: 'utf8' });
  assert.equal(built.status, 0, String(built.stderr));
}

/** Runs a built bench script to its end (or kills it after timeoutMs); its exit code and output. */
async function runScript(script: string, env: Record<string, string>, timeoutMs: number): Promise<{ code: number | string | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [path.join(repo, buildDir, script)], { cwd: repo, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
  const code = await new Promise<number | string | null>((resolve) => {
    child.on('exit', (c) => resolve(c));
    child.on('error', (err) => resolve(`not started: ${err.message}`));
  });
  clearTimeout(timer);
  return { code, stdout, stderr };
}

test('the benchmark builds and runs: every transfer intact, every short row without failures', { timeout: 300_000 }, async () => {
  build();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sshtunnels-bench-smoke-'));
  const out = path.join(dir, 'results.json');
  try {
    const { code, stdout, stderr } = await runScript('run.js', {
      BENCH_QUICK: '1', BENCH_ROUNDS: '1', BENCH_BULK_MB: '8', BENCH_ONLY: 'bulk,short',
      BENCH_CIPHERS: 'aes128-gcm@openssh.com', BENCH_FILTER: '\\| -[LRD] \\| (to|from|x1)$',
      BENCH_OUT: out, BENCH_PREVIOUS: '',
    }, 240_000);
    assert.equal(code, 0, stderr.slice(-4000));

    const results = JSON.parse(fs.readFileSync(out, 'utf8')) as { bulk: Record<string, Row[]>; short: Record<string, Row[]>; shortWarmup: Record<string, Row> };
    for (const name of ['openssh', 'ours', 'ours-client']) {
      for (const kind of ['L', 'R', 'D']) {
        // The as-shipped rows (EngineClient) carry -L and -R bulk, and every kind of short connection.
        for (const dirn of name === 'ours-client' && kind === 'D' ? [] : ['to', 'from']) {
          const k = `bulk | ${name} | aes128-gcm | -${kind} | ${dirn}`;
          // A transfer that failed (bytes changed, connection lost) leaves no row, or no rate.
          assert.ok(results.bulk[k]?.length === 1 && results.bulk[k]![0]!.mbps! > 0, `${k}: ${JSON.stringify(results.bulk[k])}\n${stderr.slice(-2000)}`);
        }
        const k = `short | ${name} | -${kind} | x1`;
        const row = results.short[k]?.[0];
        assert.ok(row && row.connections! > 0 && row.failures === 0, `${k}: ${JSON.stringify(results.short[k])}`);
        assert.ok(results.shortWarmup[k]?.connections! > 0, `${k} warm-up: ${JSON.stringify(results.shortWarmup[k])}`);
      }
    }
    assert.match(stdout, /^\| forward \| cipher \| dir \| OpenSSH \|/m);
    assert.match(stdout, /^\| forward \| lanes \|/m);
    assert.doesNotMatch(stderr, /warm-up .*: |failed: /);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('sshd side by side (bench/sshdSideBySide.ts) runs: both clients\' downloads intact, together and alone', { timeout: 120_000 }, async () => {
  build();
  const { code, stdout, stderr } = await runScript('sshdSideBySide.js', { BENCH_BULK_MB: '8', BENCH_ROUNDS: '1' }, 90_000);
  // bulk() fails a download whose bytes differ, and then the script exits non-zero.
  assert.equal(code, 0, `${stdout}\n${stderr.slice(-4000)}`);
  for (const [when, who] of [['together', 'ssh'], ['together', 'ours'], ['alone', 'ssh'], ['alone', 'ours']]) {
    assert.match(stdout, new RegExp(`^round 1, ${when}: ${who} +\\d+ MB/s, sshd [\\d.]+ CPU-s/GB`, 'm'), `no ${when} row for ${who}`);
  }
  // 8 MiB is too short for /proc's 10 ms ticks to give a ratio every time; the line is there either way.
  assert.match(stdout, /^sshd's CPU per GB sending to ours \/ to ssh: together ([\d.]+×|not measurable)/m);
});
