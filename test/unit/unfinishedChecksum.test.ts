// Telling checksums a peer's kernel left unfinished from complete and wrong ones.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { internetChecksum } from '../../src/net/icmp.js';
import { TCP_CHECKSUM_AT, UDP_CHECKSUM_AT, unfinishedChecksum } from '../../src/net/unfinishedChecksum.js';
import { checksumValid, ipPacket, pseudoHeaderSum } from '../helpers/packets.js';

const A = '10.40.1.5';
const B = '10.40.2.5';

describe('unfinishedChecksum', () => {
  it('finds the unfinished TCP and UDP checksum, with IP options too', () => {
    expect(unfinishedChecksum(ipPacket(A, B, Buffer.from('hello'), { checksum: 'unfinished' }), 0, 45)).toBe(TCP_CHECKSUM_AT);
    const udp = ipPacket(A, B, Buffer.from('hello'), { proto: 'udp', checksum: 'unfinished' });
    expect(unfinishedChecksum(udp, 0, udp.length)).toBe(UDP_CHECKSUM_AT);
    const withOptions = ipPacket(A, B, Buffer.alloc(100, 7), { checksum: 'unfinished', options: Buffer.from([1, 1, 1, 0]) });
    expect(unfinishedChecksum(withOptions, 0, withOptions.length)).toBe(TCP_CHECKSUM_AT);
  });

  it('leaves complete and wrong checksums, fragments and other protocols alone', () => {
    for (const proto of ['tcp', 'udp'] as const) {
      for (const checksum of ['complete', 'wrong'] as const) {
        const p = ipPacket(A, B, Buffer.from('payload bytes'), { proto, checksum });
        expect(unfinishedChecksum(p, 0, p.length)).toBe(0);
      }
      const fragment = ipPacket(A, B, Buffer.alloc(64), { proto, checksum: 'unfinished', fragment: { offset: 0, more: true } });
      expect(unfinishedChecksum(fragment, 0, fragment.length)).toBe(0);
    }
    const icmp = ipPacket(A, B, Buffer.alloc(8), { checksum: 'unfinished' });
    icmp[9] = 1;
    expect(unfinishedChecksum(icmp, 0, icmp.length)).toBe(0);
  });

  it('never reads past the packet, whatever its bytes, and says unfinished only when the field holds the pseudo-header sum', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 20, maxLength: 200 }), fc.boolean(), (bytes, tcp) => {
        const p = Buffer.from(bytes);
        p[0] = 0x40 | (5 + (p[0] % 3)); // a header of 20 to 28 bytes; the packet may end inside the L4 header
        p[9] = tcp ? 6 : 17;
        const field = unfinishedChecksum(p, 0, p.length);
        if (field !== 0) expect(p.readUInt16BE((p[0] & 15) * 4 + field)).toBe(pseudoHeaderSum(p));
      }),
      { numRuns: 5000 },
    );
  });

  it('a packet whose complete checksum happens to equal the pseudo-header sum is finished to the same value', () => {
    // Finishing sums from the L4 header with the field as it is: a correct checksum equal to the
    // pseudo-header sum finishes to itself, so a false "unfinished" never corrupts a packet.
    let found = 0;
    for (let n = 0; n < 200_000 && found < 3; n++) {
      const p = ipPacket(A, B, Buffer.from([n & 255, (n >> 8) & 255, (n >> 16) & 255]));
      if (unfinishedChecksum(p, 0, p.length) === 0) continue;
      found++;
      expect(checksumValid(p)).toBe(true);
      const finished = internetChecksum(p, 20, p.length); // what NEEDS_CSUM has the kernel write
      expect(finished).toBe(p.readUInt16BE(20 + TCP_CHECKSUM_AT));
    }
    expect(found).toBeGreaterThan(0);
  });
});
