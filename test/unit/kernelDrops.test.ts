import { describe, expect, it } from 'vitest';
import { parseSocketDrops, parseTxDrops } from '../../src/host/kernelDrops.js';

// /proc/net/dev as Linux 6.1 writes it.
const DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0
  tso0: 9893365   10851    0    0    0     0          0         0     1100      15    0 1500    0     0       0          0
tso10:12 1 0 0 0 0 0 0 13 2 0 7 0 0 0 0
`;

// /proc/net/udp and udp6: port 8285 is 205D.
const UDP = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  112: 00000000:205D 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 41231 2 0000000000000000 42
  113: 0100007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 41232 2 0000000000000000 9
  114: 0100007F:205D0 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 41233 2 0000000000000000 5
`;
const UDP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
   12: 00000000000000000000000000000000:205D 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 41240 2 0000000000000000 3
`;

describe('drops the kernel counts before the daemon reads', () => {
  it('the TUN queue: the transmit drop column of the named interface only', () => {
    expect(parseTxDrops(DEV, 'tso0')).toBe(1500);
    expect(parseTxDrops(DEV, 'lo')).toBe(0);
    expect(parseTxDrops(DEV, 'tso10')).toBe(7); // no space after the colon once the name is long
    expect(parseTxDrops(DEV, 'tso')).toBeNull();
  });

  it('the data socket: the drops of the sockets on that port, IPv4 and IPv6 alike', () => {
    expect(parseSocketDrops(UDP, 8285)).toBe(42);
    expect(parseSocketDrops(UDP6, 8285)).toBe(3);
    expect(parseSocketDrops(UDP, 53)).toBe(9);
    expect(parseSocketDrops(UDP, 8472)).toBeNull();
  });

  it('gives null, not a wrong number, for a line it cannot read', () => {
    expect(parseTxDrops('  tso0: 1 2 3\n', 'tso0')).toBeNull();
    expect(parseTxDrops('', 'tso0')).toBeNull();
    expect(parseSocketDrops('  1: 00000000:205D 00000000:0000 07\n', 8285)).toBeNull();
  });
});
