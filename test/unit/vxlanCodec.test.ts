import { describe, expect, it } from 'vitest';
import { VxlanCodec, decodeVxlan, encodeVxlan } from '../../src/dataplane/codecs/vxlanCodec.js';
import { newCounters } from '../../src/dataplane/counters.js';
import { parseMac } from '../../src/net/mac.js';

const ours = parseMac('02:00:00:00:00:0a');
const theirs = parseMac('02:00:00:00:00:0b');
const hop = { addr: 0x0ac90002, port: 8472, vtepMac: theirs };

function ipv4(len = 40): Buffer {
  const p = Buffer.alloc(len);
  p[0] = 0x45;
  p.writeUInt16BE(len, 2);
  return p;
}

describe('vxlan codec', () => {
  it('writes the RFC 7348 header and inner Ethernet header in place', () => {
    const codec = new VxlanCodec(0x123456, ours);
    const buf = Buffer.alloc(64 + 40);
    ipv4().copy(buf, 64);
    codec.encap(buf, 64, 40, hop);
    const wire = buf.subarray(64 - 22);
    expect(wire.subarray(0, 22).toString('hex')).toBe(
      '08000000' + '12345600' + '02000000000b' + '02000000000a' + '0800',
    );
    const { header, inner } = decodeVxlan(wire);
    expect(header.vni).toBe(0x123456);
    expect(inner).toEqual(ipv4());
  });

  it('marks IPv6 inner packets with their ethertype', () => {
    const codec = new VxlanCodec(1, ours);
    const buf = Buffer.alloc(64 + 60);
    buf[64] = 0x60;
    codec.encap(buf, 64, 60, hop);
    expect(buf.readUInt16BE(64 - 2)).toBe(0x86dd);
  });

  it('decaps what the encoder (and so the kernel) puts on the wire, and counts what it refuses', () => {
    const codec = new VxlanCodec(1, ours);
    const drops = newCounters().drops;
    const good = encodeVxlan({ vni: 1, dstMac: ours, srcMac: theirs, etherType: 0x0800 }, ipv4());
    expect(codec.decap(good, 0, good.length, drops)).toBe(22);

    const cases: [Buffer, keyof typeof drops][] = [
      [good.subarray(0, 30), 'bad_header'],
      [Buffer.concat([Buffer.from([0]), good.subarray(1)]), 'bad_header'],
      [encodeVxlan({ vni: 2, dstMac: ours, srcMac: theirs, etherType: 0x0800 }, ipv4()), 'wrong_vni'],
      [encodeVxlan({ vni: 1, dstMac: theirs, srcMac: theirs, etherType: 0x0800 }, ipv4()), 'wrong_mac'],
      [encodeVxlan({ vni: 1, dstMac: ours, srcMac: theirs, etherType: 0x0806 }, ipv4()), 'bad_header'],
    ];
    for (const [datagram, reason] of cases) {
      const before = drops[reason];
      expect(codec.decap(datagram, 0, datagram.length, drops)).toBe(-1);
      expect(drops[reason]).toBe(before + 1);
    }
  });

  it('ignores the reserved bits around the VNI, as the kernel does', () => {
    const codec = new VxlanCodec(7, ours);
    const d = encodeVxlan({ vni: 7, dstMac: ours, srcMac: theirs, etherType: 0x0800 }, ipv4());
    d[1] = 0xff;
    d[7] = 0xff;
    expect(codec.decap(d, 0, d.length, newCounters().drops)).toBe(22);
  });

  it('refuses a VNI that does not fit 24 bits', () => {
    expect(() => new VxlanCodec(1 << 24, ours)).toThrow(/VNI out of range/);
  });
});
