import { describe, expect, it } from 'vitest';
import { parseTxDrops } from '../../src/host/tunQueue.js';

// /proc/net/dev as Linux 6.1 writes it.
const SAMPLE = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0
  tso0: 9893365   10851    0    0    0     0          0         0     1100      15    0 1500    0     0       0          0
tso10:12 1 0 0 0 0 0 0 13 2 0 7 0 0 0 0
`;

describe('the TUN queue drops in /proc/net/dev', () => {
  it('reads the transmit drop column of the named interface only', () => {
    expect(parseTxDrops(SAMPLE, 'tso0')).toBe(1500);
    expect(parseTxDrops(SAMPLE, 'lo')).toBe(0);
    expect(parseTxDrops(SAMPLE, 'tso10')).toBe(7); // no space after the colon once the name is long
    expect(parseTxDrops(SAMPLE, 'tso')).toBeNull();
  });

  it('gives null, not a wrong number, for a line it cannot read', () => {
    expect(parseTxDrops('  tso0: 1 2 3\n', 'tso0')).toBeNull();
    expect(parseTxDrops('', 'tso0')).toBeNull();
  });
});
