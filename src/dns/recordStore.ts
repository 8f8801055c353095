// Name -> addresses for the DNS domain, from this host's own records and,
// in mesh mode, every reachable peer's (each peer gossips the records it owns).
import { UserError } from '../errors.js';
import { formatIPv4, parseIPv4 } from '../net/ipv4.js';

export interface DnsRecord {
  name: string; // fully qualified within the domain, lower case, no trailing dot
  ip: string;
}

export class DnsNameError extends UserError {}

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
  private byName = new Map<string, string[]>();
  private byIp = new Map<string, string[]>();
  private others: DnsRecord[] = [];

  constructor(readonly domain: string) {}

  add(ip: string, name: string): DnsRecord {
    parseIPv4(ip);
    const fqdn = qualify(name, this.domain);
    if (!this.own.has(fqdn)) this.own.set(fqdn, new Set());
    this.own.get(fqdn)!.add(formatIPv4(parseIPv4(ip)));
    this.rebuild();
    return { name: fqdn, ip };
  }

  /** Removes our record(s) for `ip` (only those for `name` when given); returns how many. */
  remove(ip: string, name?: string): number {
    const only = name === undefined ? null : qualify(name, this.domain);
    let removed = 0;
    for (const [n, ips] of this.own) {
      if (only !== null && n !== only) continue;
      if (ips.delete(ip)) removed++;
      if (ips.size === 0) this.own.delete(n);
    }
    this.rebuild();
    return removed;
  }

  ownRecords(): DnsRecord[] {
    return [...this.own].flatMap(([name, ips]) => [...ips].map((ip) => ({ name, ip })));
  }

  /** Replaces the records learned from others (peers' gossip, etcd). */
  setOthers(records: DnsRecord[]): void {
    this.others = records;
    this.rebuild();
  }

  /** Addresses for a name, in random order (round robin for several). */
  lookup(fqdn: string): string[] {
    const ips = [...(this.byName.get(fqdn) ?? [])];
    for (let i = ips.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [ips[i], ips[j]] = [ips[j], ips[i]];
    }
    return ips;
  }

  has(fqdn: string): boolean {
    return this.byName.has(fqdn);
  }

  reverse(ip: string): string[] {
    return this.byIp.get(ip) ?? [];
  }

  get size(): number {
    return this.byName.size;
  }

  all(): DnsRecord[] {
    return [...this.byName].flatMap(([name, ips]) => ips.map((ip) => ({ name, ip })));
  }

  private rebuild(): void {
    const byName = new Map<string, Set<string>>();
    for (const r of [...this.ownRecords(), ...this.others]) {
      if (!byName.has(r.name)) byName.set(r.name, new Set());
      byName.get(r.name)!.add(r.ip);
    }
    this.byName = new Map([...byName].map(([n, s]) => [n, [...s]]));
    const byIp = new Map<string, string[]>();
    for (const [n, ips] of this.byName) for (const ip of ips) byIp.set(ip, [...(byIp.get(ip) ?? []), n]);
    this.byIp = byIp;
  }
}
