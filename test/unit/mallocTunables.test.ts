/**
 * The engine process's glibc malloc settings (src/core/worker/mallocTunables.ts): the user's own
 * GLIBC_TUNABLES are kept, and glibc really applies ours — freed buffers stay in the heap for the
 * next ones instead of going back to the kernel (a misspelt tunable is ignored by glibc without a
 * word, so only a process's memory can show that the names are right).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { engineTunables } from '../../src/core/worker/mallocTunables';

const OURS = 'glibc.malloc.trim_threshold=33554432:glibc.malloc.mmap_threshold=16777216';

describe('GLIBC_TUNABLES for the engine process', () => {
  test('ours alone when the user has none', () => {
    assert.equal(engineTunables(undefined), OURS);
    assert.equal(engineTunables(''), OURS);
  });

  test('the user\'s own come first and unchanged', () => {
    assert.equal(engineTunables('glibc.malloc.arena_max=2'), `glibc.malloc.arena_max=2:${OURS}`);
  });

  test('a threshold the user set is theirs: ours is not added after it', () => {
    assert.equal(engineTunables('glibc.malloc.trim_threshold=0'), 'glibc.malloc.trim_threshold=0:glibc.malloc.mmap_threshold=16777216');
    assert.equal(
      engineTunables('glibc.malloc.mmap_threshold=65536:glibc.malloc.trim_threshold=1048576'),
      'glibc.malloc.mmap_threshold=65536:glibc.malloc.trim_threshold=1048576',
    );
  });

  const glibc = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime;
  test('glibc keeps 24 MiB of freed buffers for reuse with them, and gives them back without', { skip: glibc ? false : 'not a glibc system: the variable does nothing here' }, () => {
    // 24 buffers of 1 MiB, written to, then freed: by default each is a mapping of its own and
    // goes back to the kernel (RSS falls by ~24 MiB); with ours they come from the heap and stay.
    const script = `
      const rss = () => Number(require('fs').readFileSync('/proc/self/statm', 'utf8').split(' ')[1]) * 4096;
      let bufs = [];
      for (let i = 0; i < 24; i++) bufs.push(Buffer.alloc(1 << 20, 1));
      const before = rss();
      bufs = [];
      gc(); gc();
      setTimeout(() => { gc(); setTimeout(() => process.stdout.write(String((before - rss()) / 1048576)), 50); }, 50);`;
    const fallMiB = (tunables: string | undefined): number => {
      const env = { ...process.env };
      delete env.GLIBC_TUNABLES;
      if (tunables !== undefined) env.GLIBC_TUNABLES = tunables;
      const r = spawnSync(process.execPath, ['--expose-gc', '-e', script], { env, encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 0, r.stderr);
      return Number(r.stdout);
    };
    const without = fallMiB(undefined);
    const withOurs = fallMiB(engineTunables(undefined));
    assert.ok(without > 16, `without them RSS falls by ~24 MiB once the buffers are freed (fell ${without.toFixed(1)} MiB)`);
    assert.ok(withOurs < 8, `with them the freed buffers stay for reuse (RSS fell ${withOurs.toFixed(1)} MiB)`);
  });
});
