import { describe, expect, it } from 'vitest';
import { RouteTable } from '../../src/dataplane/routeTable.js';
import { formatIPv4, maskOf, parseCidr, parseIPv4 } from '../../src/net/ipv4.js';
import fc from 'fast-check';
import { RouteTable6 } from '../../src/dataplane/routeTable6.js';
import { parseIPv6 } from '../../src/net/ipv6.js';
import { bytesOf, cidr6ContainsWords, maskWords6, parseCidr6, wordsOf } from '../../src/net/ipv6Cidr.js';

describe('RouteTable longest-prefix match', () => {
  it('prefers the longest matching prefix', () => {
    const t = new RouteTable<string>();
    t.set(parseCidr('10.0.0.0/8'), 'wide');
    t.set(parseCidr('10.40.0.0/16'), 'net');
    t.set(parseCidr('10.40.2.0/24'), 'host-b');
    t.set(parseCidr('10.40.2.7/32'), 'one');
    expect(t.lookup(parseIPv4('10.40.2.7'))).toBe('one');
    expect(t.lookup(parseIPv4('10.40.2.8'))).toBe('host-b');
    expect(t.lookup(parseIPv4('10.40.3.1'))).toBe('net');
    expect(t.lookup(parseIPv4('10.99.0.1'))).toBe('wide');
    expect(t.lookup(parseIPv4('11.0.0.1'))).toBeUndefined();
  });

  it('handles a default route and deletions', () => {
    const t = new RouteTable<string>();
    t.set(parseCidr('0.0.0.0/0'), 'default');
    t.set(parseCidr('10.40.2.0/24'), 'b');
    expect(t.lookup(parseIPv4('255.255.255.255'))).toBe('default');
    expect(t.delete(parseCidr('10.40.2.0/24'))).toBe(true);
    expect(t.delete(parseCidr('10.40.2.0/24'))).toBe(false);
    expect(t.lookup(parseIPv4('10.40.2.1'))).toBe('default');
    expect(t.size).toBe(1);
  });

  it('agrees with a linear scan on random tables', () => {
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const t = new RouteTable<number>();
    const list: { addr: number; len: number; id: number }[] = [];
    for (let id = 0; id < 300; id++) {
      const len = 8 + Math.floor(rand() * 25);
      const addr = ((Math.floor(rand() * 2 ** 32) & maskOf(len)) >>> 0);
      const cidr = parseCidr(`${formatIPv4(addr)}/${len}`);
      t.set(cidr, id);
      const existing = list.findIndex((r) => r.addr === addr && r.len === len);
      if (existing >= 0) list.splice(existing, 1);
      list.push({ addr, len, id });
    }
    for (let k = 0; k < 5000; k++) {
      // Probe near the routes so that matches are common.
      const base = list[Math.floor(rand() * list.length)].addr;
      const probe = (base + Math.floor(rand() * 4096)) >>> 0;
      let best: { len: number; id: number } | undefined;
      for (const r of list) if (((probe & maskOf(r.len)) >>> 0) === r.addr && (!best || r.len > best.len)) best = r;
      expect(t.lookup(probe)).toBe(best?.id);
    }
  });
});

describe('RouteTable6', () => {
  const at = (text: string) => parseIPv6(text);

  it('takes the longest prefix, at any length up to /128, and forgets deleted routes', () => {
    const t = new RouteTable6<string>();
    t.set(parseCidr6('fd00::/8'), 'ula');
    t.set(parseCidr6('fd00:40::/48'), 'network');
    t.set(parseCidr6('fd00:40:0:2::/64'), 'b');
    t.set(parseCidr6('fd00:40:0:2::77/128'), 'one');
    t.set(parseCidr6('fd00:40:0:2::/64'), 'b again'); // replaces
    expect(t.lookup(at('fd00:40:0:2::5'), 0)).toBe('b again');
    expect(t.lookup(at('fd00:40:0:2::77'), 0)).toBe('one');
    expect(t.lookup(at('fd00:40:0:3::5'), 0)).toBe('network');
    expect(t.lookup(at('fd99::1'), 0)).toBe('ula');
    expect(t.lookup(at('2001:db8::1'), 0)).toBeUndefined();
    expect(t.size).toBe(4);
    expect(t.delete(parseCidr6('fd00:40:0:2::/64'))).toBe(true);
    expect(t.delete(parseCidr6('fd00:40:0:2::/64'))).toBe(false);
    expect(t.lookup(at('fd00:40:0:2::5'), 0)).toBe('network');
    // Read from inside a larger buffer, as from a packet.
    const packet = Buffer.concat([Buffer.alloc(24), at('fd00:40:0:2::77')]);
    expect(t.lookup(packet, 24)).toBe('one');
  });

  it('agrees with a scan of every route over random prefixes and addresses', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 128 })), { maxLength: 40 }),
        fc.array(fc.uint8Array({ minLength: 16, maxLength: 16 }), { minLength: 1, maxLength: 20 }),
        (prefixes, addresses) => {
          const t = new RouteTable6<number>();
          const routes: { words: Uint32Array; len: number; id: number }[] = [];
          prefixes.forEach(([bytes, len], id) => {
            const mask = maskWords6(len);
            const words = wordsOf(bytes).map((w, i) => (w & mask[i]) >>> 0);
            t.set({ family: 6, words, len }, id);
            const same = routes.findIndex((r) => r.len === len && r.words.every((w, i) => w === words[i]));
            if (same >= 0) routes.splice(same, 1);
            routes.push({ words, len, id });
          });
          // Addresses inside some of the prefixes too, not only random ones.
          const probes = [...addresses.map((a) => Buffer.from(a)), ...routes.map((r) => bytesOf(r.words))];
          for (const p of probes) {
            const w = wordsOf(p);
            const best = routes.filter((r) => cidr6ContainsWords({ family: 6, words: r.words, len: r.len }, w)).sort((x, y) => y.len - x.len)[0];
            expect(t.lookup(p, 0)).toBe(best?.id);
          }
          expect(t.size).toBe(routes.length);
        },
      ),
      { numRuns: 300 },
    );
  });
});
