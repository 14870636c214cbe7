import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatHistogram, histogramJson, linearHistogram, log2Histogram, slotCounts } from './histogram.js';

describe('histograms', () => {
  it('prints a log2 histogram exactly as libbpf-tools biolatency does', () => {
    const counts = slotCounts(
      [
        [3, 3],
        [4, 30],
        [5, [10, 5]], // per-CPU counts are summed
      ],
      64,
    );
    const text = formatHistogram(log2Histogram(counts, 'usecs'));
    assert.equal(
      text,
      [
        '     usecs               : count    distribution',
        '         0 -> 1          : 0        |                                        |',
        '         2 -> 3          : 0        |                                        |',
        '         4 -> 7          : 0        |                                        |',
        '         8 -> 15         : 3        |****                                    |',
        '        16 -> 31         : 30       |****************************************|',
        '        32 -> 63         : 15       |********************                    |',
      ].join('\n'),
    );
  });

  it("bcc's bpf_log2l slots: slot 1 is 0 -> 1, slot 2 is 2 -> 3", () => {
    const h = log2Histogram([0n, 4n, 2n], 'kbytes', 'bcc');
    assert.deepEqual(
      h.buckets.map((b) => [b.low, b.high]),
      [
        [0n, 0n],
        [0n, 1n],
        [2n, 3n],
      ],
    );
  });

  it('wide histograms (over 33 slots) use wider columns and half-width bars', () => {
    const counts = new Array<bigint>(40).fill(0n);
    counts[39] = 1n;
    const lines = formatHistogram(log2Histogram(counts, 'nsecs')).split('\n');
    assert.equal(lines[0], `${' '.repeat(15)}${'nsecs'.padEnd(29)} : count    distribution`);
    assert.equal(
      lines.at(-1),
      `${'549755813888'.padStart(20)} -> ${'1099511627775'.padEnd(20)} : 1        |${'*'.repeat(20)}|`,
    );
  });

  it('linear histograms skip empty leading and trailing buckets', () => {
    const h = linearHistogram([0n, 2n, 0n, 4n, 0n], 10n, 'msecs');
    assert.equal(
      formatHistogram(h),
      [
        '     msecs         : count     distribution',
        '        10         : 2        |********************                    |',
        '        20         : 0        |                                        |',
        '        30         : 4        |****************************************|',
      ].join('\n'),
    );
    assert.deepEqual(histogramJson(h).buckets[0], { low: 10, high: 19, count: 2 });
  });

  it('an empty histogram prints nothing', () => {
    assert.equal(formatHistogram(log2Histogram([0n, 0n], 'usecs')), '');
  });
});
