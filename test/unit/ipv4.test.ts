import { describe, expect, it } from 'vitest';
import { cidrContains, cidrCovers, cidrOverlaps, formatCidr, formatIPv4, parseCidr, parseIPv4 } from '../../src/net/ipv4.js';
import { formatMac, parseMac, randomMac } from '../../src/net/mac.js';

describe('IPv4 addresses and CIDRs', () => {
  it('round-trips addresses through numbers', () => {
    for (const text of ['0.0.0.0', '10.40.1.2', '255.255.255.255', '192.168.0.1']) expect(formatIPv4(parseIPv4(text))).toBe(text);
    expect(parseIPv4('10.0.0.1')).toBe(0x0a000001);
  });

  it.each(['10.0.0', '10.0.0.256', '10.0.0.-1', 'a.b.c.d', '1.2.3.4.5', '', '01234.1.1.1'])('rejects %j', (text) => {
    expect(() => parseIPv4(text)).toThrow(/not an IPv4 address/);
  });

  it('parses CIDRs and refuses host bits and bad lengths', () => {
    expect(formatCidr(parseCidr('10.40.0.0/16'))).toBe('10.40.0.0/16');
    expect(parseCidr('0.0.0.0/0').mask).toBe(0);
    expect(parseCidr('10.1.2.3/32').mask).toBe(0xffffffff);
    expect(() => parseCidr('10.40.1.1/24')).toThrow(/host bits set \(did you mean 10\.40\.1\.0\/24\?\)/);
    expect(() => parseCidr('10.40.0.0/33')).toThrow(/bad prefix length/);
    expect(() => parseCidr('10.40.0.0')).toThrow(/missing \/len/);
  });

  it('answers containment and overlap', () => {
    const net = parseCidr('10.40.0.0/16');
    expect(cidrContains(net, parseIPv4('10.40.255.1'))).toBe(true);
    expect(cidrContains(net, parseIPv4('10.41.0.1'))).toBe(false);
    expect(cidrCovers(net, parseCidr('10.40.3.0/24'))).toBe(true);
    expect(cidrCovers(parseCidr('10.40.3.0/24'), net)).toBe(false);
    expect(cidrOverlaps(parseCidr('10.40.3.0/24'), parseCidr('10.40.3.128/25'))).toBe(true);
    expect(cidrOverlaps(parseCidr('10.40.3.0/25'), parseCidr('10.40.3.128/25'))).toBe(false);
  });
});

describe('MAC addresses', () => {
  it('round-trips and refuses malformed ones', () => {
    expect(formatMac(parseMac('0A:1b:2c:3d:4e:5f'))).toBe('0a:1b:2c:3d:4e:5f');
    expect(() => parseMac('0a:1b:2c:3d:4e')).toThrow(/not a MAC/);
    expect(() => parseMac('0a:1b:2c:3d:4e:5g')).toThrow(/not a MAC/);
  });

  it('makes unicast, locally administered addresses', () => {
    for (let i = 0; i < 50; i++) {
      const mac = randomMac();
      expect(mac[0] & 1).toBe(0);
      expect(mac[0] & 2).toBe(2);
    }
  });
});
