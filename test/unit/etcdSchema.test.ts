// flannel's etcd schema, dual stack: the network config's IPv6 half with
// flannel's defaults and checks (pkg/subnet/config.go), lease keys as
// MakeSubnetKey writes them and ParseSubnetKey reads them
// (pkg/subnet/subnet.go), and the lease value's IPv6 fields.
import { describe, expect, it } from 'vitest';
import { formatCidr, parseCidr, parseIPv4 } from '../../src/net/ipv4.js';
import { cidr6OfValue, formatCidr6, parseCidr6 } from '../../src/net/ipv6Cidr.js';
import { decodeLease, encodeLease, leaseKey, subnetOfKey } from '../../src/subnet/leaseRecord.js';
import { allowsSubnet6, NetworkConfigError, parseNetworkConfig } from '../../src/subnet/networkConfig.js';

const PREFIX = '/coreos.com/network';

describe('flannel\'s dual-stack network config', () => {
  const config = (extra: Record<string, unknown>) => parseNetworkConfig(JSON.stringify({ Network: '10.244.0.0/16', ...extra }));

  it('is IPv4 only unless EnableIPv6 is true', () => {
    expect(config({}).ipv6).toBeNull();
    expect(config({ EnableIPv6: false, IPv6Network: 'fc00::/48' }).ipv6).toBeNull();
  });

  it('takes flannel\'s defaults: /64 subnets (or /len+2 for a small network), the first and last subnet skipped', () => {
    const v6 = config({ EnableIPv6: true, IPv6Network: 'fc00::/48' }).ipv6!;
    expect(formatCidr6(v6.network)).toBe('fc00::/48');
    expect(v6.subnetLen).toBe(64);
    expect(formatCidr6(cidr6OfValue(v6.min, 64))).toBe('fc00:0:0:1::/64');
    expect(formatCidr6(cidr6OfValue(v6.max, 64))).toBe('fc00:0:0:ffff::/64');
    expect(config({ EnableIPv6: true, IPv6Network: 'fc00::/100' }).ipv6!.subnetLen).toBe(102);
    const bounded = config({ EnableIPv6: true, IPv6Network: 'fc00::/48', IPv6SubnetLen: 80, IPv6SubnetMin: 'fc00:0:0:5::', IPv6SubnetMax: 'fc00:0:0:6::' }).ipv6!;
    expect(allowsSubnet6(bounded, parseCidr6('fc00:0:0:5::/80'))).toBe(true);
    expect(allowsSubnet6(bounded, parseCidr6('fc00:0:0:6::/80'))).toBe(true);
    expect(allowsSubnet6(bounded, parseCidr6('fc00:0:0:6:1::/80'))).toBe(false);
    expect(allowsSubnet6(bounded, parseCidr6('fc00:0:0:5::/64'))).toBe(false);
  });

  it.each([
    [{ EnableIPv6: true }, /no "IPv6Network"/],
    [{ EnableIPv6: true, IPv6Network: 'fc00::1/48' }, /host bits set/],
    [{ EnableIPv6: true, IPv6Network: '10.0.0.0/8' }, /"IPv6Network"/],
    [{ EnableIPv6: true, IPv6Network: 'fc00::/48', IPv6SubnetLen: 49 }, /fewer than four subnets/],
    [{ EnableIPv6: true, IPv6Network: 'fc00::/48', IPv6SubnetLen: 127 }, /"IPv6SubnetLen" must be an integer from 1 to 126/],
    [{ EnableIPv6: true, IPv6Network: 'fc00::/126' }, /too small/],
    [{ EnableIPv6: true, IPv6Network: 'fc00::/48', IPv6SubnetMin: 'fd00::' }, /IPv6SubnetMin fd00:: is not in the range of the IPv6Network fc00::\/48/],
    [{ EnableIPv6: true, IPv6Network: 'fc00::/48', IPv6SubnetMin: 'fc00::1' }, /is not the start of a \/64/],
    [{ EnableIPv6: true, IPv6Network: 'fc00::/48', IPv6SubnetMin: 'fc00:0:0:9::', IPv6SubnetMax: 'fc00:0:0:8::' }, /is above IPv6SubnetMax/],
    [{ EnableIPv4: false, EnableIPv6: true, IPv6Network: 'fc00::/48' }, /IPv6-only network/],
  ])('refuses %j with one clear error', (extra, message) => {
    expect(() => config(extra)).toThrow(NetworkConfigError);
    expect(() => config(extra)).toThrow(message);
  });
});

describe('dual-stack lease keys and values', () => {
  it('writes and reads keys as flannel does: IPv4 alone, or IPv4&IPv6', () => {
    const v4 = parseCidr('10.244.1.0/24');
    const v6 = parseCidr6('fc00:0:0:1::/64');
    expect(leaseKey(PREFIX, v4)).toBe(`${PREFIX}/subnets/10.244.1.0-24`);
    expect(leaseKey(PREFIX, v4, v6)).toBe(`${PREFIX}/subnets/10.244.1.0-24&fc00:0:0:1::-64`);
    const read = subnetOfKey(PREFIX, `${PREFIX}/subnets/10.244.1.0-24&fc00:0:0:1::-64`)!;
    expect([formatCidr(read.subnet), formatCidr6(read.subnet6!)]).toEqual(['10.244.1.0/24', 'fc00:0:0:1::/64']);
    expect(subnetOfKey(PREFIX, `${PREFIX}/subnets/10.244.1.0-24`)!.subnet6).toBeNull();
    // Not keys flannel writes: upper case, a bad address, host bits, a stray suffix.
    for (const bad of ['10.244.1.0-24&FC00::-64', '10.244.1.0-24&fc00:::1-64', '10.244.1.0-24&fc00::1-64', '10.244.1.0-24&fc00::-64x', '10.244.1.0-24&']) {
      expect(subnetOfKey(PREFIX, `${PREFIX}/subnets/${bad}`)).toBeNull();
    }
  });

  it('writes BackendV6Data with the VTEP for both families, and reads PublicIPv6 when a peer gives one', () => {
    const mac = Buffer.from([2, 0, 0, 0, 0, 7]);
    const value = JSON.parse(encodeLease({ publicIp: parseIPv4('10.0.0.7'), publicIpv6: null, dualStack: true, backendType: 'vxlan', vtepMac: mac, vni: 1 }));
    expect(value).toEqual({ PublicIP: '10.0.0.7', BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: '02:00:00:00:00:07' }, BackendV6Data: { VNI: 1, VtepMAC: '02:00:00:00:00:07' } });
    const subnets = { subnet: parseCidr('10.244.1.0/24'), subnet6: parseCidr6('fc00:0:0:1::/64') };
    // As flannel writes a dual-stack vxlan lease.
    const lease = decodeLease(subnets, JSON.stringify({ PublicIP: '10.0.0.8', PublicIPv6: '2001:DB8::8', BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: '02:00:00:00:00:08' }, BackendV6Data: { VNI: 1, VtepMAC: '02:00:00:00:00:09' } }));
    expect(lease.publicIpv6).toBe('2001:db8::8');
    expect(formatCidr6(lease.subnet6!)).toBe('fc00:0:0:1::/64');
    expect(() => decodeLease(subnets, JSON.stringify({ PublicIP: '10.0.0.8', PublicIPv6: 'nope', BackendType: 'udp' }))).toThrow(/bad "PublicIPv6"/);
  });
});
