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
import { decodeLease, LeaseRecordError } from '../../src/subnet/leaseRecord.js';
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

  it('etcd lease values and network configs: parsed, or their own error', () => {
    const subnet = parseCidr('10.50.1.0/24');
    fc.assert(fc.property(jsonish, (text) => decodesOrRefuses(() => decodeLease(subnet, text), LeaseRecordError)), RUNS);
    fc.assert(fc.property(jsonish, (text) => decodesOrRefuses(() => parseNetworkConfig(text), NetworkConfigError)), RUNS);
    const shaped = fc.record({ Network: fc.oneof(fc.constant('10.0.0.0/8'), fc.string()), SubnetLen: fc.anything(), SubnetMin: fc.anything(), SubnetMax: fc.anything(), Backend: fc.anything() }, { requiredKeys: [] });
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
});
