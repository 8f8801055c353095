// Name -> addresses (IPv4 and IPv6) for the DNS domain, from this host's own
// records and, in mesh mode, every reachable peer's (each peer gossips the
// records it owns). Addresses are kept in one canonical text per address.
import { UserError } from '../errors.js';
import { AddressError, formatIPv4, isIPv4, parseIPv4 } from '../net/ipv4.js';
import { canonicalIPv6, isIPv6 } from '../net/ipv6.js';

export interface DnsRecord {
  name: string; // fully qualified within the domain, lower case, no trailing dot
  ip: string;
}

export class DnsNameError extends UserError {}

/** One canonical text per address, of either family; an AddressError for anything else. */
export function canonicalAddress(ip: string): string {
  if (isIPv4(ip)) return formatIPv4(parseIPv4(ip));
  if (isIPv6(ip)) return canonicalIPv6(ip);
  throw new AddressError(`not an IP address: ${JSON.stringify(ip)}`);
}

function tryCanonical(ip: unknown): string | null {
  return isIPv4(ip) || isIPv6(ip) ? canonicalAddress(ip) : null;
}

/** `web` or `web.weave.local` (any case, optional trailing dot) -> `web.weave.local`. */
export function qualify(name: string, domain: string): string {
  const n = name.toLowerCase().replace(/\.$/, '');
  if (!/^[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*$/.test(n) || n.length > 253) {
    throw new DnsNameError(`not a valid DNS name: ${JSON.stringify(name)}`);
  }
  return n === domain || n.endsWith(`.${domain}`) ? n : `${n}.${domain}`;
}

export class RecordStore {
  /** Our own records, by name. */
  private readonly own = new Map<string, Set<string>>();
  /** Everyone's (own included), rebuilt when a source changes. */
  private byName = new Map<string, { v4: string[]; v6: string[] }>();
  private byIp = new Map<string, string[]>();
  private others: DnsRecord[] = [];
  /** Raised at every change: what a cache of answers keys its validity on. */
  generation = 0;

  constructor(readonly domain: string) {}

  add(ip: string, name: string): DnsRecord {
    const address = canonicalAddress(ip);
    const fqdn = qualify(name, this.domain);
    if (!this.own.has(fqdn)) this.own.set(fqdn, new Set());
    this.own.get(fqdn)!.add(address);
    this.rebuild();
    return { name: fqdn, ip: address };
  }

  /** Removes our record(s) for `ip` (only those for `name` when given); returns how many. */
  remove(ip: string, name?: string): number {
    const only = name === undefined ? null : qualify(name, this.domain);
    const address = tryCanonical(ip) ?? ip;
    let removed = 0;
    for (const [n, ips] of this.own) {
      if (only !== null && n !== only) continue;
      if (ips.delete(address)) removed++;
      if (ips.size === 0) this.own.delete(n);
    }
    this.rebuild();
    return removed;
  }

  ownRecords(): DnsRecord[] {
    return [...this.own].flatMap(([name, ips]) => [...ips].map((ip) => ({ name, ip })));
  }

  /** Replaces the records learned from others (peers' gossip, etcd); those without an address we read are left out. */
  setOthers(records: DnsRecord[]): void {
    this.others = records;
    this.rebuild();
  }

  /** Addresses of one family for a name (both without one), in random order (round robin for several). */
  lookup(fqdn: string, family?: 4 | 6): string[] {
    const entry = this.byName.get(fqdn);
    if (!entry) return [];
    const ips = family === 4 ? [...entry.v4] : family === 6 ? [...entry.v6] : [...entry.v4, ...entry.v6];
    for (let i = ips.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [ips[i], ips[j]] = [ips[j], ips[i]];
    }
    return ips;
  }

  has(fqdn: string): boolean {
    return this.byName.has(fqdn);
  }

  /** Names for an address in canonical form. */
  reverse(ip: string): string[] {
    return this.byIp.get(ip) ?? [];
  }

  get size(): number {
    return this.byName.size;
  }

  all(): DnsRecord[] {
    return [...this.byName].flatMap(([name, { v4, v6 }]) => [...v4, ...v6].map((ip) => ({ name, ip })));
  }

  private rebuild(): void {
    const byName = new Map<string, Set<string>>();
    for (const r of [...this.ownRecords(), ...this.others]) {
      const ip = tryCanonical(r.ip);
      if (ip === null) continue;
      if (!byName.has(r.name)) byName.set(r.name, new Set());
      byName.get(r.name)!.add(ip);
    }
    this.byName = new Map(
      [...byName].map(([n, s]) => [n, { v4: [...s].filter((ip) => !ip.includes(':')), v6: [...s].filter((ip) => ip.includes(':')) }]),
    );
    const byIp = new Map<string, string[]>();
    for (const [n, s] of byName) for (const ip of s) byIp.set(ip, [...(byIp.get(ip) ?? []), n]);
    this.byIp = byIp;
    this.generation++;
  }
}
