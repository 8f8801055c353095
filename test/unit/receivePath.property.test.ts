// The receive path under arbitrary inner packets from a peer (as a kernel
// VXLAN peer or an attacker might send them): wrong and unfinished checksums,
// truncated headers, checksum fields past the end, super-packets. Each
// datagram is delivered or counted as exactly one drop; nothing throws; a
// checksum is marked unfinished only where its field holds the pseudo-header sum.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backends } from '../../src/dataplane/backends.js';
import { encodeVxlan } from '../../src/dataplane/codecs/vxlanCodec.js';
import { Dataplane } from '../../src/dataplane/dataplane.js';
import { MemoryNetwork } from '../../src/dataplane/fakes/memoryNetwork.js';
import { parseCidr, parseIPv4 } from '../../src/net/ipv4.js';
import { parseCidr6 } from '../../src/net/ipv6Cidr.js';
import { checksumValid, checksumValid6, ip6Packet, ipPacket } from '../helpers/packets.js';

const A = parseIPv4('10.201.0.1');
const B = parseIPv4('10.201.0.2');
const MAC_B = Buffer.from([2, 0, 0, 0, 0, 2]);

function receiver(backend: 'udp' | 'vxlan') {
  const net = new MemoryNetwork();
  const port = backends[backend].defaultPort;
  const tun = net.tun('tso0');
  const udp = net.endpoint(B, port);
  const encap = backends[backend].encapsulation({ vni: 1, vtepMac: MAC_B, underlayMtu: 1500, sealed: false });
  const dp = new Dataplane({ encap, localSubnet: parseCidr('10.40.2.0/24'), localSubnet6: parseCidr6('fd00:40:0:2::/64'), mtu: 1500 - backends[backend].overhead(false), relay: false }, tun, udp);
  dp.replaceRoutes([{ cidr: parseCidr('10.40.1.0/24'), hop: { addr: A, port, vtepMac: Buffer.from([2, 0, 0, 0, 0, 1]) } }], [A]);
  dp.start();
  return { net, tun, udp, dp, port };
}

const vxlan = (inner: Buffer) => encodeVxlan({ vni: 1, dstMac: MAC_B, srcMac: Buffer.alloc(6), etherType: inner[0] >> 4 === 6 ? 0x86dd : 0x0800 }, inner);

/** An inner packet as a peer might send it: well formed, then damaged in one of several ways. */
const innerPacket = fc
  .record({
    proto: fc.constantFrom('tcp' as const, 'udp' as const),
    checksum: fc.constantFrom('complete' as const, 'unfinished' as const, 'wrong' as const),
    size: fc.oneof(fc.integer({ min: 0, max: 1400 }), fc.integer({ min: 1400, max: 30_000 })),
    options: fc.constantFrom(0, 4, 8),
    v6: fc.boolean(),
    cut: fc.option(fc.integer({ min: 0, max: 80 }), { nil: undefined }),
    flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 3 }),
  })
  .map((o) => {
    // IPv6 too (options: 8 stands for a packet with a hop-by-hop header's next-header byte, 4 for one for no one's subnet).
    let p = o.v6
      ? ip6Packet('fd00:40:0:1::5', o.options === 4 ? 'fd00:99::5' : 'fd00:40:0:2::5', Buffer.alloc(o.size, 0x5a), { proto: o.proto, checksum: o.checksum })
      : ipPacket('10.40.1.5', '10.40.2.5', Buffer.alloc(o.size, 0x5a), { proto: o.proto, checksum: o.checksum, options: Buffer.alloc(o.options, 1) });
    if (o.v6 && o.options === 8) p[6] = 0;
    for (const [at, x] of o.flips) p[at % p.length] ^= x;
    if (o.cut !== undefined) p = p.subarray(0, Math.min(p.length, o.cut));
    return p;
  });

describe.each(['udp', 'vxlan'] as const)('receive path under arbitrary inner packets (%s)', (backend) => {
  it('delivers or counts each one exactly once, never throws, and finishes only unfinished checksums', () => {
    const r = receiver(backend);
    let sent = 0;
    fc.assert(
      fc.property(fc.array(innerPacket, { minLength: 1, maxLength: 20 }), (packets) => {
        const before = r.tun.written.length;
        const dropsBefore = Object.values(r.dp.snapshot().counters.drops).reduce((x, y) => x + y, 0);
        for (const p of packets) r.udp.deliver(backend === 'vxlan' ? vxlan(p) : p, A, r.port);
        sent += packets.length;
        r.net.settle();
        const delivered = r.tun.written.length - before;
        const drops = Object.values(r.dp.snapshot().counters.drops).reduce((x, y) => x + y, 0) - dropsBefore;
        expect(delivered + drops).toBe(packets.length);
        // Whatever was marked unfinished verifies once finished: its field held exactly the
        // pseudo-header sum. A wrong checksum is never "repaired" (the kernel drops it).
        for (const [k, p] of r.tun.written.slice(before).entries()) {
          if (r.tun.marked[before + k]) expect(p[0] >> 4 === 6 ? checksumValid6(p) : checksumValid(p)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
    expect(sent).toBeGreaterThan(300);
  });
});
