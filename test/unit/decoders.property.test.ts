// Every decoder, fed arbitrary bytes: it returns something, or refuses with
// its own typed error (or a counted drop) — never another exception.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VxlanCodec } from '../../src/dataplane/codecs/vxlanCodec.js';
import { newCounters } from '../../src/dataplane/counters.js';
import { DnsFormatError, parseQuery } from '../../src/dns/dnsMessage.js';
import { FrameError, FrameReader } from '../../src/mesh/frames.js';
import { MessageError, parseMessage } from '../../src/mesh/messages.js';
import { parseCidr } from '../../src/net/ipv4.js';
import { udpCodec } from '../../src/dataplane/codecs/udpCodec.js';
import { PeerCrypto } from '../../src/dataplane/sleeve/peerCrypto.js';
import { MAC_BYTES, SEALED_HEADER } from '../../src/dataplane/sleeve/sleeveFormat.js';
import { openDatagram, sealDatagram } from '../helpers/sealOne.js';
import { SealedChannel } from '../../src/crypto/sealedChannel.js';
import { isHello, judgeHello, type Hello } from '../../src/mesh/handshake.js';
import { parseArgs, UsageError } from '../../src/config/args.js';
import { ConfigError, launchCommand, parseLaunchConfig } from '../../src/config/launchConfig.js';
import { decodeLease, LeaseRecordError, subnetOfKey } from '../../src/subnet/leaseRecord.js';
import { AddressError } from '../../src/net/ipv4.js';
import { formatCidr6, parseCidr6 } from '../../src/net/ipv6Cidr.js';
import { isPeerInfo } from '../../src/mesh/peerInfo.js';
import { NetworkConfigError, parseNetworkConfig } from '../../src/subnet/networkConfig.js';

const RUNS = { numRuns: 2000 };

/** Runs `decode`; an exception must be one of `allowed`. */
function decodesOrRefuses(decode: () => unknown, ...allowed: (new (...args: never[]) => Error)[]): boolean {
  try {
    decode();
    return true;
  } catch (error) {
    if (allowed.some((E) => error instanceof E)) return true;
    throw error;
  }
}

const jsonish = fc.oneof(fc.json(), fc.string(), fc.jsonValue().map((v) => JSON.stringify(v)));

describe('decoders under arbitrary input', () => {
  it('vxlan decap: an offset inside the datagram, or -1 with exactly one drop counted', () => {
    const codec = new VxlanCodec(1, Buffer.from([2, 0, 0, 0, 0, 1]));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const drops = newCounters().drops;
        const buf = Buffer.from(bytes);
        const inner = codec.decap(buf, 0, buf.length, drops);
        const counted = Object.values(drops).reduce((a, b) => a + b, 0);
        return inner === -1 ? counted === 1 : counted === 0 && inner === 22 && inner <= buf.length;
      }),
      RUNS,
    );
  });

  it('DNS queries: parsed, or a DnsFormatError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => decodesOrRefuses(() => parseQuery(Buffer.from(bytes)), DnsFormatError)), RUNS);
    // Mutations of a well-formed query reach deeper into the parser.
    const good = Buffer.from('1234010000010000000000000377656205776561766505' + '6c6f63616c0000010001', 'hex');
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), (edits) => {
        const m = Buffer.from(good);
        for (const [at, v] of edits) m[at] = v;
        return decodesOrRefuses(() => parseQuery(m), DnsFormatError);
      }),
      RUNS,
    );
  });

  it('control frames: whole frames, or a FrameError; messages: parsed, or a MessageError', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }), (chunks) =>
        decodesOrRefuses(() => {
          const reader = new FrameReader();
          for (const c of chunks) reader.push(Buffer.from(c));
        }, FrameError),
      ),
      RUNS,
    );
    fc.assert(fc.property(fc.jsonValue(), (v) => decodesOrRefuses(() => parseMessage(v), MessageError)), RUNS);
    fc.assert(
      fc.property(fc.record({ t: fc.constantFrom('gossip', 'digest', 'unicast'), peers: fc.anything(), ring: fc.anything(), versions: fc.anything(), peersHash: fc.anything(), to: fc.anything(), body: fc.anything() }), (v) =>
        decodesOrRefuses(() => parseMessage(v), MessageError),
      ),
      RUNS,
    );
  });

  it('IPv6 prefixes, lease keys and gossiped IPv6 blocks: parsed (and formatted back to a fixed point), or refused', () => {
    const hexish = fc.stringOf(fc.constantFrom(...'0123456789abcdefABCDEF:./-&%'), { maxLength: 50 });
    fc.assert(fc.property(fc.oneof(hexish, fc.string()), (text) => {
      if (!decodesOrRefuses(() => parseCidr6(text), AddressError)) return false;
      try {
        const c = parseCidr6(text);
        expect(formatCidr6(parseCidr6(formatCidr6(c)))).toBe(formatCidr6(c));
      } catch {
        // refused
      }
      return true;
    }), RUNS);
    fc.assert(fc.property(fc.oneof(hexish, fc.string()), (tail) => {
      subnetOfKey('/p', `/p/subnets/10.1.2.0-24&${tail}`); // null or subnets, never a throw
      return true;
    }), RUNS);
    const info = { name: 'x', version: 1, nickname: 'n', publicIp: null, controlPort: 1, dataPort: 2, vtepMac: null, subnet: null, connections: [], departed: false };
    fc.assert(fc.property(fc.oneof(hexish, fc.string(), fc.anything()), (subnet6) => {
      const ok = isPeerInfo({ ...info, subnet6 });
      if (ok && subnet6 !== undefined) expect(() => parseCidr6(subnet6 as string)).not.toThrow(); // accepted only what the route code can parse
      return true;
    }), RUNS);
  });

  it('etcd lease values and network configs: parsed, or their own error', () => {
    const subnet = parseCidr('10.50.1.0/24');
    fc.assert(fc.property(jsonish, (text) => decodesOrRefuses(() => decodeLease({ subnet, subnet6: null }, text), LeaseRecordError)), RUNS);
    fc.assert(fc.property(jsonish, (text) => decodesOrRefuses(() => parseNetworkConfig(text), NetworkConfigError)), RUNS);
    const shaped = fc.record({ Network: fc.oneof(fc.constant('10.0.0.0/8'), fc.string()), SubnetLen: fc.anything(), SubnetMin: fc.anything(), SubnetMax: fc.anything(), Backend: fc.anything() }, { requiredKeys: [] });
    // The dual-stack half: EnableIPv6 with IPv6Network and its bounds, well formed or not.
    const shaped6 = fc.record({
      Network: fc.constant('10.0.0.0/8'),
      EnableIPv6: fc.oneof(fc.constant(true), fc.anything()),
      IPv6Network: fc.oneof(fc.constant('fd00:10::/48'), fc.constant('fd00::/120'), fc.string(), fc.anything()),
      IPv6SubnetLen: fc.oneof(fc.integer({ min: -1, max: 130 }), fc.anything()),
      IPv6SubnetMin: fc.oneof(fc.constant('fd00:10:0:5::'), fc.constant('fd00:10::1'), fc.string(), fc.anything()),
      IPv6SubnetMax: fc.oneof(fc.constant('fd00:10:0:ff::'), fc.string(), fc.anything()),
    }, { requiredKeys: ['Network'] });
    fc.assert(fc.property(shaped6, (cfg) => decodesOrRefuses(() => parseNetworkConfig(JSON.stringify(cfg)), NetworkConfigError)), RUNS);
    fc.assert(fc.property(shaped, (cfg) => decodesOrRefuses(() => parseNetworkConfig(JSON.stringify(cfg)), NetworkConfigError)), RUNS);
  });

  it('a decoded network config always describes a non-empty range of subnets inside the network', () => {
    fc.assert(
      fc.property(fc.integer({ min: 8, max: 28 }), fc.option(fc.integer({ min: 1, max: 30 }), { nil: undefined }), (len, subnetLen) => {
        let cfg;
        try {
          cfg = parseNetworkConfig(JSON.stringify({ Network: `10.0.0.0/${len}`, SubnetLen: subnetLen }));
        } catch (error) {
          return error instanceof NetworkConfigError;
        }
        expect(cfg.subnetLen).toBeGreaterThan(len);
        expect(cfg.subnetMin).toBeLessThanOrEqual(cfg.subnetMax);
        return true;
      }),
      RUNS,
    );
  });

  it('udp decap: the datagram is the packet, never a drop of its own', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const drops = newCounters().drops;
        const buf = Buffer.from(bytes);
        return udpCodec.decap(buf, 0, buf.length, drops) === 0;
      }),
      RUNS,
    );
  });

  it('sealed sleeve datagrams: random or mutated bytes open to nothing, with exactly one drop; the real one re-opens identically', () => {
    const key = Buffer.alloc(32, 7);
    const sender = new PeerCrypto({ send: key, receive: Buffer.alloc(32, 8) });
    const plain = Buffer.from('00140000450000140000000040110000' + '0a280102' + '0a280202', 'hex');
    const real = Buffer.alloc(SEALED_HEADER + MAC_BYTES + plain.length);
    plain.copy(real, SEALED_HEADER + MAC_BYTES);
    sealDatagram(real, 0, plain.length, sender);
    const mutated = fc.tuple(fc.nat(real.length - 1), fc.integer({ min: 1, max: 255 })).map(([at, x]) => {
      const copy = Buffer.from(real);
      copy[at] ^= x;
      return new Uint8Array(copy);
    });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), mutated), (bytes) => {
        const receiver = new PeerCrypto({ send: Buffer.alloc(32, 8), receive: key });
        const drops = newCounters().drops;
        const buf = Buffer.from(bytes);
        const at = openDatagram(buf, 0, buf.length, receiver, drops);
        const counted = Object.values(drops).reduce((a, b) => a + b, 0);
        return at === -1 && counted === 1;
      }),
      RUNS,
    );
    const receiver = new PeerCrypto({ send: Buffer.alloc(32, 8), receive: key });
    const copy = Buffer.from(real);
    const at = openDatagram(copy, 0, copy.length, receiver, newCounters().drops);
    expect(copy.subarray(at).equals(plain)).toBe(true);
  });

  it('sealed control frames: anything but the next frame opens to null', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => new SealedChannel({ send: Buffer.alloc(32, 1), receive: Buffer.alloc(32, 2) }).open(Buffer.from(bytes)) === null),
      RUNS,
    );
  });

  it('hellos: anything JSON gives a verdict, never an exception', () => {
    const ours: Hello = { protocol: 'tsoverlay', minVersion: 1, maxVersion: 1, name: 'a', nickname: '', backend: 'sleeve', publicKey: 'x'.repeat(44) };
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.record({ protocol: fc.string(), minVersion: fc.integer(), maxVersion: fc.integer(), name: fc.string(), nickname: fc.string(), backend: fc.string(), publicKey: fc.option(fc.string(), { nil: undefined }) })), (value) => {
        if (!isHello(value)) return true;
        const verdict = judgeHello(ours, value);
        return typeof verdict.ok === 'boolean';
      }),
      RUNS,
    );
  });

  it('launch options: any command line gives a configuration, or a usage or configuration error', () => {
    const word = fc.oneof(
      fc.constantFrom(...Object.keys(launchCommand.options).map((f) => `--${f}`), '--help', '--route', '10.40.0.0/16', '10.40.1.0/24', '10.201.0.1', 'udp', 'vxlan', 'sleeve', '1500', '0', '-1', 'x'),
      fc.string({ maxLength: 20 }),
    );
    fc.assert(
      fc.property(fc.array(word, { maxLength: 12 }), (argv) => decodesOrRefuses(() => parseLaunchConfig(parseArgs(argv, launchCommand), {}), ConfigError, UsageError)),
      RUNS,
    );
  });
});
