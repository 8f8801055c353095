// A flannel subnet lease in etcd: key <prefix>/subnets/<a.b.c.d>-<len>, or
// dual stack <a.b.c.d>-<len>&<ipv6>-<len6> (flannel's MakeSubnetKey), value
//   {"PublicIP":"…","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"…"}}
// and, dual stack, "PublicIPv6" (when the host has one) and "BackendV6Data".
import { type Cidr, formatIPv4, parseCidr, parseIPv4 } from '../net/ipv4.js';
import { canonicalIPv6, isIPv6 } from '../net/ipv6.js';
import { type Cidr6, formatCidr6, parseCidr6 } from '../net/ipv6Cidr.js';
import { formatMac, parseMac } from '../net/mac.js';

/** The subnets a lease key names. */
export interface LeaseSubnets {
  subnet: Cidr;
  subnet6: Cidr6 | null;
}

export interface LeaseRecord {
  subnet: Cidr;
  /** Its IPv6 subnet, in a dual-stack network; null otherwise. */
  subnet6: Cidr6 | null;
  publicIp: number;
  /** Its IPv6 underlay address ("PublicIPv6"), if it gave one. */
  publicIpv6: string | null;
  backendType: string;
  vtepMac: Buffer | null;
  vni: number | null;
  /** "BackendV6Data.VtepMAC": where its IPv6 traffic goes (flannel has a device per family); null: none given. */
  vtepMac6: Buffer | null;
}

export class LeaseRecordError extends Error {}

export function subnetsPrefix(prefix: string): string {
  return `${prefix.replace(/\/+$/, '')}/subnets/`;
}

export function leaseKey(prefix: string, subnet: Cidr, subnet6: Cidr6 | null = null): string {
  const v6 = subnet6 ? `&${formatCidr6(subnet6).replace('/', '-')}` : '';
  return `${subnetsPrefix(prefix)}${formatIPv4(subnet.addr)}-${subnet.len}${v6}`;
}

/** The subnets named by a key under <prefix>/subnets/, or null for any other key. */
export function subnetOfKey(prefix: string, key: string): LeaseSubnets | null {
  const base = subnetsPrefix(prefix);
  if (!key.startsWith(base)) return null;
  // flannel's ParseSubnetKey: the IPv6 part as Go prints it, lower case.
  const match = /^(\d+\.\d+\.\d+\.\d+)-(\d+)(?:&([a-f\d:]+)-(\d+))?$/.exec(key.slice(base.length));
  if (!match) return null;
  try {
    return { subnet: parseCidr(`${match[1]}/${match[2]}`), subnet6: match[3] === undefined ? null : parseCidr6(`${match[3]}/${match[4]}`) };
  } catch {
    return null;
  }
}

export function encodeLease(r: Omit<LeaseRecord, 'subnet' | 'subnet6' | 'vtepMac6'> & { dualStack: boolean }): string {
  const value: Record<string, unknown> = { PublicIP: formatIPv4(r.publicIp) };
  if (r.publicIpv6) value.PublicIPv6 = r.publicIpv6;
  value.BackendType = r.backendType;
  if (r.vtepMac) {
    value.BackendData = { VNI: r.vni ?? 1, VtepMAC: formatMac(r.vtepMac) };
    // One device carries both families here: the same VTEP for IPv6.
    if (r.dualStack) value.BackendV6Data = { VNI: r.vni ?? 1, VtepMAC: formatMac(r.vtepMac) };
  }
  return JSON.stringify(value);
}

export function decodeLease(subnets: LeaseSubnets, json: string): LeaseRecord {
  const { subnet, subnet6 } = subnets;
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new LeaseRecordError('not JSON');
  }
  if (typeof raw !== 'object' || raw === null) throw new LeaseRecordError('not a JSON object');
  if (typeof raw.PublicIP !== 'string') throw new LeaseRecordError('no "PublicIP"');
  let publicIp: number;
  try {
    publicIp = parseIPv4(raw.PublicIP);
  } catch {
    throw new LeaseRecordError(`bad "PublicIP" ${JSON.stringify(raw.PublicIP)}`);
  }
  // flannel omits BackendType in very old leases; those were udp.
  const backendType = raw.BackendType === undefined ? 'udp' : raw.BackendType;
  if (typeof backendType !== 'string') throw new LeaseRecordError('"BackendType" is not a string');
  const { vtepMac, vni } = backendData(raw, 'BackendData');
  if (backendType === 'vxlan' && !vtepMac) throw new LeaseRecordError('a vxlan lease without "BackendData.VtepMAC"');
  const vtepMac6 = backendData(raw, 'BackendV6Data').vtepMac;
  let publicIpv6: string | null = null;
  if (raw.PublicIPv6 !== undefined && raw.PublicIPv6 !== null) {
    if (!isIPv6(raw.PublicIPv6)) throw new LeaseRecordError(`bad "PublicIPv6" ${JSON.stringify(raw.PublicIPv6)}`);
    publicIpv6 = canonicalIPv6(raw.PublicIPv6);
  }
  return { subnet, subnet6, publicIp, publicIpv6, backendType, vtepMac, vni, vtepMac6 };
}

/** A lease's BackendData (or, dual stack, BackendV6Data): its VTEP MAC and VNI, each if given. */
function backendData(raw: Record<string, unknown>, field: 'BackendData' | 'BackendV6Data'): { vtepMac: Buffer | null; vni: number | null } {
  const data = raw[field] as Record<string, unknown> | undefined | null;
  if (data === undefined || data === null) return { vtepMac: null, vni: null };
  if (typeof data !== 'object') throw new LeaseRecordError(`"${field}" is not an object`);
  let vtepMac: Buffer | null = null;
  if (data.VtepMAC !== undefined) {
    try {
      vtepMac = parseMac(String(data.VtepMAC));
    } catch {
      throw new LeaseRecordError(`bad "${field}.VtepMAC" ${JSON.stringify(data.VtepMAC)}`);
    }
  }
  if (data.VNI !== undefined && (typeof data.VNI !== 'number' || !Number.isInteger(data.VNI))) throw new LeaseRecordError(`"${field}.VNI" is not an integer`);
  return { vtepMac, vni: (data.VNI as number | undefined) ?? null };
}
