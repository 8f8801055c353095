// A flannel subnet lease in etcd: key <prefix>/subnets/<a.b.c.d>-<len>, value
//   {"PublicIP":"…","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"…"}}
import { type Cidr, formatIPv4, parseCidr, parseIPv4 } from '../net/ipv4.js';
import { formatMac, parseMac } from '../net/mac.js';

export interface LeaseRecord {
  subnet: Cidr;
  publicIp: number;
  backendType: string;
  vtepMac: Buffer | null;
  vni: number | null;
}

export class LeaseRecordError extends Error {}

export function subnetsPrefix(prefix: string): string {
  return `${prefix.replace(/\/+$/, '')}/subnets/`;
}

export function leaseKey(prefix: string, subnet: Cidr): string {
  return `${subnetsPrefix(prefix)}${formatIPv4(subnet.addr)}-${subnet.len}`;
}

/** The subnet named by a key under <prefix>/subnets/, or null for any other key. */
export function subnetOfKey(prefix: string, key: string): Cidr | null {
  const base = subnetsPrefix(prefix);
  if (!key.startsWith(base)) return null;
  const match = /^(\d+\.\d+\.\d+\.\d+)-(\d+)$/.exec(key.slice(base.length));
  if (!match) return null;
  try {
    return parseCidr(`${match[1]}/${match[2]}`);
  } catch {
    return null;
  }
}

export function encodeLease(r: Omit<LeaseRecord, 'subnet'>): string {
  const value: Record<string, unknown> = { PublicIP: formatIPv4(r.publicIp), BackendType: r.backendType };
  if (r.vtepMac) value.BackendData = { VNI: r.vni ?? 1, VtepMAC: formatMac(r.vtepMac) };
  return JSON.stringify(value);
}

export function decodeLease(subnet: Cidr, json: string): LeaseRecord {
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
  let vtepMac: Buffer | null = null;
  let vni: number | null = null;
  const data = raw.BackendData as Record<string, unknown> | undefined | null;
  if (data !== undefined && data !== null) {
    if (typeof data !== 'object') throw new LeaseRecordError('"BackendData" is not an object');
    if (data.VtepMAC !== undefined) {
      try {
        vtepMac = parseMac(String(data.VtepMAC));
      } catch {
        throw new LeaseRecordError(`bad "VtepMAC" ${JSON.stringify(data.VtepMAC)}`);
      }
    }
    if (data.VNI !== undefined) {
      if (typeof data.VNI !== 'number' || !Number.isInteger(data.VNI)) throw new LeaseRecordError('"VNI" is not an integer');
      vni = data.VNI;
    }
  }
  if (backendType === 'vxlan' && !vtepMac) throw new LeaseRecordError('a vxlan lease without "BackendData.VtepMAC"');
  return { subnet, publicIp, backendType, vtepMac, vni };
}
