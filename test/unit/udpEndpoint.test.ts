// The addon's batched UDP endpoint on loopback: recvmmsg/sendmmsg, addresses, truncation.
import { afterEach, describe, expect, it } from 'vitest';
import { PacketBatch } from '../../src/dataplane/packetBatch.js';
import { UdpBindError, UdpEndpoint } from '../../src/dataplane/udpEndpoint.js';
import { isSystemError, native } from '../../src/dataplane/native.js';
import { internetChecksum } from '../../src/net/icmp.js';
import { checksumValid, checksumValid6, ip6Packet, ipPacket } from '../helpers/packets.js';

const LOOPBACK = 0x7f000001;

describe('UdpEndpoint (native recvmmsg/sendmmsg)', () => {
  const open: UdpEndpoint[] = [];
  afterEach(() => open.splice(0).forEach((e) => e.close()));
  const endpoint = (offload = false) => {
    const e = new UdpEndpoint('127.0.0.1', 0, offload);
    open.push(e);
    return e;
  };

  it('sends a batch in one call and receives it in one call, with sources', async () => {
    const [a, b] = [endpoint(), endpoint()];
    const out = new PacketBatch(16, 256, 32);
    for (let i = 0; i < 16; i++) {
      const start = out.offset(i);
      out.slab.fill(i, start, start + 10 + i);
      out.outOffsets[i] = start;
      out.outLengths[i] = 10 + i;
      out.addrs[i] = LOOPBACK;
      out.ports[i] = b.port;
    }
    expect(a.send(out, 16)).toBe(16);
    const inb = new PacketBatch(32, 256, 0);
    let got = 0;
    for (let tries = 0; got < 16 && tries < 100; tries++) {
      const n = b.receive(inb);
      for (let i = 0; i < n; i++, got++) {
        expect(inb.lengths[i]).toBe(10 + got);
        expect(inb.slab[inb.offset(i)]).toBe(got);
        expect(inb.addrs[i]).toBe(LOOPBACK);
        expect(inb.ports[i]).toBe(a.port);
      }
      if (n === 0) await new Promise((r) => setTimeout(r, 5));
    }
    expect(got).toBe(16);
  });

  it('reports the real length of a datagram larger than its slot', async () => {
    const [a, b] = [endpoint(), endpoint()];
    const out = new PacketBatch(1, 4096, 0);
    out.outOffsets[0] = 0;
    out.outLengths[0] = 3000;
    out.addrs[0] = LOOPBACK;
    out.ports[0] = b.port;
    expect(a.send(out, 1)).toBe(1);
    const inb = new PacketBatch(4, 2048, 0);
    let n = 0;
    for (let tries = 0; n === 0 && tries < 100; tries++) {
      n = b.receive(inb);
      if (n === 0) await new Promise((r) => setTimeout(r, 5));
    }
    expect(n).toBe(1);
    expect(inb.lengths[0]).toBe(3000);
    expect(inb.lengths[0]).toBeGreaterThan(inb.slotSize - inb.headroom);
  });

  it('sends runs of equal datagrams with UDP_SEGMENT and takes them apart again after UDP_GRO', async () => {
    const [a, b] = [endpoint(true), endpoint(true)];
    const out = new PacketBatch(40, 1536, 0);
    // 30 datagrams of 1,400 bytes and a short last one, then 9 to another port: two GSO runs.
    const other = endpoint(true);
    for (let i = 0; i < 40; i++) {
      const start = out.offset(i);
      const length = i === 30 ? 77 : 1400;
      out.slab.fill(i, start, start + length);
      out.outOffsets[i] = start;
      out.outLengths[i] = length;
      out.addrs[i] = LOOPBACK;
      out.ports[i] = i <= 30 ? b.port : other.port;
    }
    expect(a.send(out, 40)).toBe(40);
    const seen: [number, number][] = [];
    for (const [ep, expected] of [[b, 31], [other, 9]] as const) {
      const inb = ep.receiveBatch(64, 1536);
      const got: [number, number][] = [];
      for (let tries = 0; got.length < expected && tries < 100; tries++) {
        const n = ep.receive(inb);
        for (let i = 0; i < n; i++) {
          const first = inb.slab[inb.offset(i)];
          // Every byte of a datagram is its number: no datagram spills into the next.
          expect(inb.slab.subarray(inb.offset(i), inb.offset(i) + inb.lengths[i]).every((x) => x === first)).toBe(true);
          expect(inb.ports[i]).toBe(a.port);
          got.push([first, inb.lengths[i]]);
        }
        if (n === 0) await new Promise((r) => setTimeout(r, 5));
      }
      seen.push(...got);
    }
    expect(seen).toEqual(Array.from({ length: 40 }, (_, i) => [i, i === 30 ? 77 : 1400]));
  });

  it('wakes a readiness callback from the event loop, without polling', async () => {
    const [a, b] = [endpoint(), endpoint()];
    const woke = new Promise<void>((resolve) => b.onReadable(() => resolve()));
    const out = new PacketBatch(1, 64, 0);
    out.outOffsets[0] = 0;
    out.outLengths[0] = 8;
    out.addrs[0] = LOOPBACK;
    out.ports[0] = b.port;
    a.send(out, 1);
    await woke;
    expect(b.receive(new PacketBatch(4, 64, 0))).toBe(1);
  });

  it('refuses a batch that does not fit its slab instead of reading past it', () => {
    const a = endpoint();
    const small = Buffer.alloc(100);
    expect(() => native.udpRecv(a.fd, small, 64, 0, 4, new Uint32Array(4), new Uint32Array(4), new Uint16Array(4))).toThrow(RangeError);
    for (const gso of [0, 1]) {
      expect(() => native.udpSend(a.fd, small, new Uint32Array([90]), new Uint32Array([20]), new Uint32Array([LOOPBACK]), new Uint16Array([9]), new Int32Array(1), 1, gso)).toThrow(RangeError);
    }
    expect(() => native.udpRecvGro(a.fd, small, 65536, 1, new Uint32Array(256), new Uint32Array(256), new Uint32Array(256), new Uint16Array(256))).toThrow(RangeError);
    expect(() => native.tunWrite(-1, small, new Uint32Array([90]), new Uint32Array([20]), new Uint8Array(1), new Uint8Array(1), new Uint16Array(1), new Int32Array(1), 1, 1)).toThrow(RangeError);
    expect(() => native.tunWrite(-1, small, new Uint32Array([0, 0]), new Uint32Array([20, 20]), new Uint8Array(2), new Uint8Array(2), new Uint16Array(2), new Int32Array(1), 2, 0)).toThrow(RangeError);
    expect(() => native.tunWrite(-1, small, new Uint32Array([0, 0]), new Uint32Array([20, 20]), new Uint8Array(1), new Uint8Array(2), new Uint16Array(2), new Int32Array(2), 2, 0)).toThrow(RangeError);
    // A frame length that would not sit inside the prefix, or in front of it.
    for (const lengthAt of [5, -2]) {
      expect(() => native.udpSendCut(a.fd, small, new Uint32Array([0]), new Uint32Array([20]), new Uint16Array(1), 6, lengthAt, new Uint32Array([LOOPBACK]), new Uint16Array([9]), new Int32Array(1), 1, 1)).toThrow(RangeError);
    }
    expect(() => native.sealBatch(small, new Uint32Array([80]), new Uint32Array([20]), Buffer.alloc(32), 1)).toThrow(RangeError);
    expect(() => native.openBatch(small, new Uint32Array([0]), new Uint32Array([10]), Buffer.alloc(31), 1, new Uint8Array(1))).toThrow(RangeError);
  });

  it('names the error when the port is taken, with the system error fields', () => {
    const a = endpoint();
    expect(() => new UdpEndpoint('127.0.0.1', a.port)).toThrow(UdpBindError);
    expect(() => new UdpEndpoint('127.0.0.1', a.port)).toThrow(/bind: Address already in use/);
    let thrown: unknown;
    try {
      native.udpOpen('127.0.0.1', a.port, 0, 0);
    } catch (error) {
      thrown = error;
    }
    expect(isSystemError(thrown)).toBe(true);
    expect(thrown).toMatchObject({ code: 'EADDRINUSE', syscall: 'bind', errno: 98 });
  });

  for (const gso of [false, true]) {
    it(`reports each datagram's own result: a refused one in the middle is not charged to the others (gso ${gso})`, async () => {
      const [a, b] = [endpoint(gso), endpoint()];
      const out = new PacketBatch(8, 256, 0);
      // 255.255.255.255 without SO_BROADCAST: the kernel refuses that one datagram (EACCES) and no other.
      const to = [LOOPBACK, LOOPBACK, 0xffffffff, LOOPBACK, LOOPBACK];
      to.forEach((addr, i) => {
        out.outOffsets[i] = out.offset(i);
        out.outLengths[i] = 100;
        out.addrs[i] = addr;
        out.ports[i] = b.port;
      });
      out.status.fill(-1);
      expect(a.send(out, to.length)).toBe(4);
      expect([...out.status.subarray(0, to.length)]).toEqual([0, 0, 13, 0, 0]);
      const inb = new PacketBatch(16, 256, 0);
      let got = 0;
      for (let tries = 0; tries < 50 && got < 4; tries++) {
        const n = b.receive(inb);
        if (n > 0) got += n;
        else await new Promise((r) => setTimeout(r, 5));
      }
      expect(got).toBe(4);
    });
  }

  for (const family of ['IPv4', 'IPv6'] as const) {
    for (const gso of [false, true]) {
      // With gso, the prefix also ends in a sleeve frame's length, which each segment's datagram gets its own of.
      const lengthAt = gso ? 20 : -1;
      it(`cuts a TCP super-packet (${family}) on its way out, each segment whole and checksummed behind the same prefix (gso ${gso}, lengthAt ${lengthAt})`, async () => {
        const [a, b] = [endpoint(gso), endpoint()];
        // 46 segments: more than one UDP_SEGMENT send takes (65,000 bytes), so two go to the same peer.
        const payload = Buffer.from(Array.from({ length: 64_000 }, (_, i) => (i * 7 + (i >> 8)) & 0xff));
        // As the TUN hands one over: the checksum only the pseudo-header's, PSH on, one header for it all.
        const whole = family === 'IPv4' ? ipPacket('10.1.0.2', '10.2.0.2', payload, { checksum: 'unfinished' }) : ip6Packet('fd00::2', 'fd00:1::2', payload, { checksum: 'unfinished' });
        const hlen = whole.length - payload.length;
        const prefix = 22;
        const out = new PacketBatch(3, 65_536, 64, Buffer.alloc(3 * 65_536));
        const entries = [whole, Buffer.alloc(100, 0xee), Buffer.alloc(300, 0x33)]; // a super-packet, garbage marked as one, a plain datagram
        entries.forEach((bytes, i) => {
          const at = i * 65_536 + 64;
          out.slab.fill(0xab, at - prefix, at);
          bytes.copy(out.slab, at);
          out.outOffsets[i] = at - prefix;
          out.outLengths[i] = bytes.length + prefix;
          out.gsoSizes[i] = i < 2 ? 1400 : 0;
          out.addrs[i] = LOOPBACK;
          out.ports[i] = b.port;
        });
        const went = a.sendCut(out, 3, prefix, lengthAt);
        expect([...out.status.subarray(0, 3)]).toEqual([0, 22, 0]);
        expect(went).toBe(2);
        expect([...out.status.subarray(0, 3)]).toEqual([0, 22, 0]); // EINVAL: not a super-packet, and the rest still go
        const inb = new PacketBatch(32, 2048, 0);
        const got: Buffer[] = [];
        for (let tries = 0; got.length < 47 && tries < 100; tries++) {
          const n = b.receive(inb);
          for (let i = 0; i < n; i++) got.push(Buffer.from(inb.slab.subarray(inb.offset(i), inb.offset(i) + inb.lengths[i])));
          if (n === 0) await new Promise((r) => setTimeout(r, 5));
        }
        expect(got).toHaveLength(47);
        const segments = got.slice(0, 46);
        expect(got[46].subarray(prefix).equals(entries[2])).toBe(true);
        expect(got[46].subarray(0, prefix).every((x) => x === 0xab)).toBe(true); // a plain datagram's prefix is TypeScript's, untouched
        const carried: Buffer[] = [];
        segments.forEach((d, k) => {
          const p = d.subarray(prefix);
          if (lengthAt < 0) expect(d.subarray(0, prefix).every((x) => x === 0xab)).toBe(true);
          else {
            expect(d.subarray(0, lengthAt).every((x) => x === 0xab)).toBe(true);
            expect(d.readUInt16BE(lengthAt)).toBe(p.length);
          }
          const tcp = family === 'IPv4' ? 20 : 40;
          const seg = Math.min(1400, payload.length - k * 1400);
          expect(p.length).toBe(hlen + seg);
          if (family === 'IPv4') {
            expect(p.readUInt16BE(2)).toBe(p.length);
            expect(p.readUInt16BE(4)).toBe(k); // the ID counts up
            expect(internetChecksum(p, 0, 20)).toBe(0);
            expect(checksumValid(p)).toBe(true);
          } else {
            expect(p.readUInt16BE(4)).toBe(p.length - 40);
            expect(checksumValid6(p)).toBe(true);
          }
          expect(p.readUInt32BE(tcp + 4)).toBe(1000 + k * 1400);
          expect(p[tcp + 13]).toBe(k === 45 ? 0x18 : 0x10); // PSH on the last segment only
          carried.push(p.subarray(hlen));
        });
        expect(Buffer.concat(carried).equals(payload)).toBe(true);
      });
    }
  }
});
