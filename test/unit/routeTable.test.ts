import { describe, expect, it } from 'vitest';
import { RouteTable } from '../../src/dataplane/routeTable.js';
import { formatIPv4, maskOf, parseCidr, parseIPv4 } from '../../src/net/ipv4.js';

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
