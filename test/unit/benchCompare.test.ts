/** bench/lib/compare.ts: two `npm run bench` result files side by side. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compareRuns, renderComparison, type BenchResults } from '../../bench/lib/compare';

const run = (date: string, oursMbps: number[], sshMbps: number[], extra: Partial<BenchResults> = {}): BenchResults => ({
  meta: { date, rounds: 3, bulkBytes: 2 ** 30 },
  bulk: {
    'bulk | openssh | aes128-gcm | -L | to': sshMbps.map((mbps) => ({ mbps, fwdCpuPerGB: 1.3 })),
    'bulk | ours | aes128-gcm | -L | to': oursMbps.map((mbps) => ({ mbps, fwdCpuPerGB: 2 })),
  },
  ...extra,
});

describe('bench comparison', () => {
  test('medians, change, and the ratio to OpenSSH in each run', () => {
    const before = run('d1', [300, 350, 320], [400, 400, 400]);
    // The machine got 25 % faster for everyone; SSH Tunnels' ratio improved from 0.80 to 0.90.
    const after = run('d2', [440, 450, 460], [500, 500, 500]);
    const rows = compareRuns(before, after);
    const ours = rows.find((r) => r.scenario === 'bulk | ours | aes128-gcm | -L | to' && r.metric === 'throughput')!;
    assert.equal(ours.before, 320);
    assert.equal(ours.after, 450);
    assert.ok(Math.abs(ours.change - (450 / 320 - 1)) < 1e-9);
    assert.equal(ours.ratioBefore, 0.8);
    assert.equal(ours.ratioAfter, 0.9);
    const ssh = rows.find((r) => r.scenario === 'bulk | openssh | aes128-gcm | -L | to' && r.metric === 'throughput')!;
    assert.equal(ssh.ratioBefore, undefined, 'OpenSSH is not compared with itself');
    const cpu = rows.find((r) => r.scenario === 'bulk | ours | aes128-gcm | -L | to' && r.metric === 'forwarder CPU')!;
    assert.equal(cpu.change, 0);
  });

  test('only measurements both runs made; null values (non-finite in JSON) are skipped', () => {
    const before = run('d1', [300], [400], { short: { 'short | ours | -L | x1': [{ perSecond: 900 }] } });
    const after = run('d2', [300], [400], {
      short: { 'short | ours | -L | x1': [{ perSecond: null }, { perSecond: 1000 }], 'short | ours | -R | x1': [{ perSecond: 5 }] },
    });
    const rows = compareRuns(before, after);
    assert.deepEqual(rows.filter((r) => r.metric === 'short connections').map((r) => [r.scenario, r.before, r.after]), [['short | ours | -L | x1', 900, 1000]]);
  });

  test('the markdown marks changes beyond the noise in the direction that is better', () => {
    const before = run('d1', [300], [400], { concurrent: { 'concurrent | ours | -L': [{ seconds: 0.4 }] } });
    const after = run('d2', [250], [410], { concurrent: { 'concurrent | ours | -L': [{ seconds: 0.3 }] } });
    const md = renderComparison(before, after);
    assert.match(md, /d1 \(3 rounds, 1024 MiB bulk\) → d2/);
    // Throughput down 16.7 %: worse. Seconds down 25 %: better. OpenSSH +2.5 %: within noise.
    assert.match(md, /\| bulk · ours · aes128-gcm · -L · to \| throughput \| 300 MB\/s \| 250 MB\/s \| -16\.7 % ↓ \| 0\.75× → 0\.61× \|/);
    assert.match(md, /\| concurrent · ours · -L \| all echoed after \| 0\.400 s \| 0\.300 s \| -25\.0 % ↑ \|/);
    assert.match(md, /\| bulk · openssh · aes128-gcm · -L · to \| throughput \| 400 MB\/s \| 410 MB\/s \| \+2\.5 % \|/);
  });

  test('the vscode section: its phases by what they move, SSH Tunnels\' against `ssh -L` in the same VS Code', () => {
    const phase = (work: number, p99: number): Record<string, number> => ({ work, p99 });
    const vs = (ours: number, ssh: number, burst: number, p99: number): Partial<BenchResults> => ({
      vscode: {
        phases: { 'idle': [phase(0, 2)], 'bulk -L to': [phase(ours, p99)], 'short -L, 1 lane': [phase(600, p99)], '1000 concurrent -L': [phase(burst, p99)] },
        openssh: { 'idle': [phase(0, 2)], 'bulk -L to': [phase(ssh, 3)], 'short -L, 1 lane': [phase(1000, 3)], '1000 concurrent -L': [phase(1.5, 3)] },
      },
    });
    const rows = compareRuns(run('d1', [300], [400], vs(250, 500, 0.4, 6)), run('d2', [300], [400], vs(400, 500, 0.3, 5)));
    const bulk = rows.find((r) => r.scenario === 'vscode | ours | bulk -L to' && r.metric === 'in VS Code: throughput')!;
    assert.deepEqual([bulk.before, bulk.after, bulk.ratioBefore, bulk.ratioAfter], [250, 400, 0.5, 0.8]);
    const burst = rows.find((r) => r.scenario === 'vscode | ours | 1000 concurrent -L' && r.metric === 'in VS Code: all echoed after')!;
    assert.equal(burst.better, 'lower');
    assert.equal(burst.unit, 's');
    assert.equal(rows.find((r) => r.scenario === 'vscode | ours | short -L, 1 lane' && r.metric === 'in VS Code: short connections')?.ratioAfter, 0.6);
    assert.equal(rows.find((r) => r.scenario === 'vscode | ours | bulk -L to' && r.metric === 'in VS Code: extension host ELD p99')?.after, 5);
    assert.equal(rows.filter((r) => r.metric === 'in VS Code: throughput').length, 2, 'the bulk phases only (ours and ssh), not idle, short or the burst');
  });

  test('runs under different TCP congestion control are flagged', () => {
    const md = renderComparison({ meta: { date: 'a', rounds: 5, tcpCongestionControl: 'bbr' } }, { meta: { date: 'b', rounds: 5, tcpCongestionControl: 'cubic' } });
    assert.match(md, /a \(5 rounds, TCP bbr\) → b \(5 rounds, TCP cubic\)/);
    assert.match(md, /different TCP congestion control \(bbr → cubic\)/);
    assert.doesNotMatch(renderComparison({ meta: { date: 'a', tcpCongestionControl: 'bbr' } }, { meta: { date: 'b', tcpCongestionControl: 'bbr' } }), /different TCP congestion control/);
    // Runs from before the field existed: nothing to say.
    assert.doesNotMatch(renderComparison({ meta: { date: 'a' } }, { meta: { date: 'b', tcpCongestionControl: 'cubic' } }), /different TCP congestion control/);
  });

  test('runs with nothing in common say so', () => {
    assert.match(renderComparison({ meta: { date: 'a' } }, { meta: { date: 'b' }, bulk: {} }), /No measurement in common\./);
  });
});
