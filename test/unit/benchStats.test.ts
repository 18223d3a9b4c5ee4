/** bench/lib/stats.ts: the ratio cell of the bench's tables. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pairedRatios, ratioCell, summarize } from '../../bench/lib/stats';

describe('bench ratios', () => {
  test('each round is paired with the same round of the other forwarder', () => {
    // A box twice as busy in round 2: both forwarders halve, the round's ratio does not.
    const ours = summarize([900, 450, 950]);
    const ssh = summarize([1000, 500, 900]);
    const p = pairedRatios(ours.values, ssh.values);
    assert.deepEqual([p.min, p.median, p.max].map((x) => Number(x.toFixed(3))), [0.9, 0.9, 1.056]);
    // Paired by rank instead of by round (each side sorted), the highest would be 1.00.
    assert.equal(ratioCell(ours, ssh), '1.00× (0.90–1.06)');
  });

  test('a round either forwarder failed (NaN) is left out; one pair gives no range', () => {
    assert.equal(pairedRatios([1, NaN, 3], [2, 2, NaN]).n, 1);
    assert.equal(ratioCell(summarize([1, NaN, 3]), summarize([2, 2, NaN])), '1.00×');
    assert.equal(ratioCell(summarize([NaN]), summarize([2])), '–');
  });
});
