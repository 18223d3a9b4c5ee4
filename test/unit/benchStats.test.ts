/** bench/lib/stats.ts: the ratio cell of the bench's tables. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pairedRatios, ratioCell, summarize } from '../../bench/lib/stats';

describe('bench ratios', () => {
  test('each round is paired with the same round of the other forwarder', () => {
    // A box twice as busy in round 2: both forwarders halve, the round's ratio does not.
    const ours = summarize([900, 450, 880]);
    const ssh = summarize([1000, 500, 1000]);
    const p = pairedRatios(ours.values, ssh.values);
    assert.deepEqual([p.min, p.median, p.max], [0.88, 0.9, 0.9]);
    // Sorted apart, the same numbers would give 0.45–1.76.
    assert.equal(ratioCell(ours, ssh), '0.88× (0.88–0.90)');
  });

  test('a round either forwarder failed (NaN) is left out; one pair gives no range', () => {
    assert.equal(pairedRatios([1, NaN, 3], [2, 2, NaN]).n, 1);
    assert.equal(ratioCell(summarize([1, NaN, 3]), summarize([2, 2, NaN])), '1.00×');
    assert.equal(ratioCell(summarize([NaN]), summarize([2])), '–');
  });
});
