// flannel's network configuration (the JSON at <prefix>/config), with flannel's defaults.
import { UserError } from '../errors.js';
import { type Cidr, cidrContains, formatCidr, formatIPv4, maskOf, parseCidr, parseIPv4 } from '../net/ipv4.js';
import { formatIPv6, parseIPv6 } from '../net/ipv6.js';
import { bytesOf, type Cidr6, cidr6OfValue, formatCidr6, ipv6Value, parseCidr6, wordsOf } from '../net/ipv6Cidr.js';

export class NetworkConfigError extends UserError {}

export interface NetworkConfig {
  network: Cidr;
  subnetLen: number;
  /** First and last subnet addresses that may be leased (inclusive). */
  subnetMin: number;
  subnetMax: number;
  backend: { type: string; port: number | null; vni: number | null };
  /** "EnableIPv6": the IPv6 network, cut into IPv6SubnetLen subnets from min to max (network addresses, inclusive); null: IPv4 only. */
  ipv6: NetworkConfig6 | null;
}

export interface NetworkConfig6 {
  network: Cidr6;
  subnetLen: number;
  min: bigint;
  max: bigint;
}


export function parseNetworkConfig(json: string): NetworkConfig {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(json);
  } catch (error) {
    throw new NetworkConfigError(`network config is not JSON: ${(error as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new NetworkConfigError('network config is not a JSON object');
  if (typeof raw.Network !== 'string') throw new NetworkConfigError('network config has no "Network"');
  const network = wrap('Network', () => parseCidr(raw.Network as string));

  let subnetLen: number;
  if (raw.SubnetLen !== undefined) {
    subnetLen = integer('SubnetLen', raw.SubnetLen, 1, 30);
    if (subnetLen <= network.len) throw new NetworkConfigError(`SubnetLen ${subnetLen} is not longer than the Network's /${network.len}`);
  } else {
    // flannel: a /24 per host, unless the whole network is /24 or smaller: then half of it.
    subnetLen = network.len < 24 ? 24 : network.len + 1;
  }
  const size = 2 ** (32 - subnetLen);
  const subnetMin = raw.SubnetMin === undefined ? network.addr + size : address('SubnetMin', raw.SubnetMin, network, subnetLen);
  const subnetMax = raw.SubnetMax === undefined ? network.addr + 2 ** (32 - network.len) - size : address('SubnetMax', raw.SubnetMax, network, subnetLen);
  if (subnetMin > subnetMax) throw new NetworkConfigError(`SubnetMin ${formatIPv4(subnetMin)} is above SubnetMax ${formatIPv4(subnetMax)}`);

  const backend = raw.Backend === undefined ? {} : raw.Backend;
  if (typeof backend !== 'object' || backend === null) throw new NetworkConfigError('"Backend" is not an object');
  const b = backend as Record<string, unknown>;
  const type = b.Type === undefined ? 'udp' : b.Type;
  if (typeof type !== 'string') throw new NetworkConfigError('"Backend.Type" is not a string');
  if (raw.EnableIPv4 === false) throw new NetworkConfigError('"EnableIPv4": false (an IPv6-only network) is not one tsoverlay runs: it needs the IPv4 network');
  return {
    network,
    subnetLen,
    subnetMin: subnetMin >>> 0,
    subnetMax: subnetMax >>> 0,
    backend: {
      type,
      port: b.Port === undefined ? null : integer('Backend.Port', b.Port, 1, 65535),
      vni: b.VNI === undefined ? null : integer('Backend.VNI', b.VNI, 0, 0xffffff),
    },
    ipv6: raw.EnableIPv6 === true ? parseIPv6Part(raw) : null,
  };
}

/** flannel's IPv6 half of the config (CheckNetworkConfig): its defaults, bounds and alignment. */
function parseIPv6Part(raw: Record<string, unknown>): NetworkConfig6 {
  if (typeof raw.IPv6Network !== 'string') throw new NetworkConfigError('"EnableIPv6" is set but there is no "IPv6Network"');
  const network = wrap('IPv6Network', () => parseCidr6(raw.IPv6Network as string));
  let subnetLen: number;
  if (raw.IPv6SubnetLen !== undefined && raw.IPv6SubnetLen !== 0) {
    subnetLen = integer('IPv6SubnetLen', raw.IPv6SubnetLen, 1, 126);
    if (subnetLen < network.len + 2) throw new NetworkConfigError(`IPv6SubnetLen ${subnetLen} leaves the IPv6Network /${network.len} fewer than four subnets`);
  } else {
    if (network.len > 124) throw new NetworkConfigError(`IPv6Network /${network.len} is too small (at most /124)`);
    subnetLen = network.len <= 62 ? 64 : network.len + 2;
  }
  const base = ipv6Value(network.words);
  const size = 1n << BigInt(128 - subnetLen);
  const end = base + (1n << BigInt(128 - network.len)); // the next network's address
  const bound = (name: string, fallback: bigint): bigint => {
    const value = raw[name];
    if (value === undefined || value === null || value === '') return fallback;
    if (typeof value !== 'string') throw new NetworkConfigError(`"${name}" is not a string`);
    const v = ipv6Value(wordsOf(wrap(name, () => parseIPv6(value))));
    if (v < base || v >= end) throw new NetworkConfigError(`${name} ${value} is not in the range of the IPv6Network ${formatCidr6(network)}`);
    if (v % size !== 0n) throw new NetworkConfigError(`${name} ${value} is not the start of a /${subnetLen}`);
    return v;
  };
  const min = bound('IPv6SubnetMin', base + size);
  const max = bound('IPv6SubnetMax', end - size);
  if (min > max) throw new NetworkConfigError(`IPv6SubnetMin ${formatIPv6(bytesOf(cidr6OfValue(min, 128).words))} is above IPv6SubnetMax`);
  return { network, subnetLen, min, max };
}

export function allowsSubnet6(c: NetworkConfig6, s: Cidr6): boolean {
  const v = ipv6Value(s.words);
  return s.len === c.subnetLen && v >= c.min && v <= c.max;
}

/** Every subnet the config allows, as network addresses. */
export function subnetCount(c: NetworkConfig): number {
  return (c.subnetMax - c.subnetMin) / 2 ** (32 - c.subnetLen) + 1;
}

export function nthSubnet(c: NetworkConfig, n: number): Cidr {
  const addr = (c.subnetMin + n * 2 ** (32 - c.subnetLen)) >>> 0;
  return { addr, len: c.subnetLen, mask: maskOf(c.subnetLen) };
}

export function allowsSubnet(c: NetworkConfig, s: Cidr): boolean {
  return s.len === c.subnetLen && s.addr >= c.subnetMin && s.addr <= c.subnetMax && cidrContains(c.network, s.addr);
}

export function describeNetworkConfig(c: NetworkConfig): string {
  const v6 = c.ipv6 ? `, ${formatCidr6(c.ipv6.network)} in /${c.ipv6.subnetLen} subnets` : '';
  return `${formatCidr(c.network)} in /${c.subnetLen} subnets ${formatIPv4(c.subnetMin)}-${formatIPv4(c.subnetMax)}${v6}, backend ${c.backend.type}`;
}

function address(name: string, value: unknown, network: Cidr, subnetLen: number): number {
  if (typeof value !== 'string') throw new NetworkConfigError(`"${name}" is not a string`);
  const addr = wrap(name, () => parseIPv4(value));
  if (!cidrContains(network, addr)) throw new NetworkConfigError(`${name} ${value} is not in the range of the Network ${formatCidr(network)}`);
  if (((addr & maskOf(subnetLen)) >>> 0) !== addr) throw new NetworkConfigError(`${name} ${value} is not the start of a /${subnetLen}`);
  return addr;
}

function integer(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new NetworkConfigError(`"${name}" must be an integer from ${min} to ${max}, not ${JSON.stringify(value)}`);
  }
  return value;
}

function wrap<T>(name: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new NetworkConfigError(`"${name}": ${(error as Error).message}`);
  }
}
