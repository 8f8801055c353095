// Subnet leases in etcd, the way flanneld (>= 0.18, etcd v3) keeps them: take
// one for this host, keep it alive, and follow everyone else's.
import { UserError } from '../errors.js';
import { log } from '../log.js';
import { type Cidr, formatCidr } from '../net/ipv4.js';
import type { EtcdClient, KeyValue } from './etcd/etcdClient.js';
import { PrefixWatch, type WatchEvent } from './etcd/etcdWatch.js';
import { type Cidr6, cidr6OfValue, formatCidr6, ipv6Value } from '../net/ipv6Cidr.js';
import { decodeLease, encodeLease, leaseKey, type LeaseRecord, type LeaseSubnets, subnetOfKey, subnetsPrefix } from './leaseRecord.js';
import { allowsSubnet, allowsSubnet6, type NetworkConfig, type NetworkConfig6, NetworkConfigError, nthSubnet, parseNetworkConfig, subnetCount } from './networkConfig.js';

export class NetworkExhausted extends UserError {}

export interface SelfLease {
  publicIp: number;
  /** This host's IPv6 underlay address for "PublicIPv6"; null: none (IPv6 travels over the IPv4 underlay). */
  publicIpv6: string | null;
  backendType: string;
  vtepMac: Buffer | null;
  vni: number | null;
}

export interface LeaseListener {
  /** A peer's lease appeared or changed. */
  set(lease: LeaseRecord): void;
  /** A peer's lease was deleted or expired: the one reported by `set`. */
  remove(lease: LeaseRecord): void;
}

export type EtcdState = 'connected' | 'unreachable';

const CONFIG_RETRY_MS = 5000;
const ACQUIRE_ATTEMPTS = 20;

export class EtcdSubnets {
  state: EtcdState = 'connected';
  subnet: Cidr | null = null;
  /** Dual stack: the IPv6 subnet leased with `subnet`. */
  subnet6: Cidr6 | null = null;
  leaseId: string | null = null;
  private readonly known = new Map<number, LeaseRecord>();
  private readonly reported = new Set<string>();
  private watch: PrefixWatch | null = null;
  private renewTimer: NodeJS.Timeout | null = null;
  private config: NetworkConfig | null = null;
  private listener: LeaseListener | null = null;
  private closed = false;
  private self: SelfLease | null = null;
  private readonly reacquiredHandlers: (() => void)[] = [];
  private readonly lostHandlers: ((reason: string) => void)[] = [];

  constructor(
    readonly client: EtcdClient,
    readonly prefix: string,
    private readonly ttlSeconds: number,
  ) {}

  /** Reads <prefix>/config; while it is missing, waits (as flanneld does) unless told not to. */
  async loadConfig(wait: boolean): Promise<NetworkConfig> {
    const key = `${this.prefix.replace(/\/+$/, '')}/config`;
    for (let logged = false; ; logged = true) {
      const { kv } = await this.client.get(key);
      if (kv) {
        try {
          return (this.config = parseNetworkConfig(kv.value));
        } catch (error) {
          throw new NetworkConfigError(`bad network config at ${key}: ${(error as Error).message}`);
        }
      }
      if (!wait) throw new NetworkConfigError(`no network config at ${key} in etcd`);
      if (!logged) log.warn('no network config in etcd yet; waiting for it', { key });
      await new Promise((r) => setTimeout(r, CONFIG_RETRY_MS));
    }
  }

  /**
   * Takes a subnet (dual stack: a subnet of each family, in one key): the
   * lease already carrying this host's PublicIP if there is one, else
   * `previous` (from the last subnet.env) when free, else a random free one.
   * Each write is a transaction that fails if someone else wrote the key
   * first, so two hosts never hold one subnet; a dual-stack key names two, so
   * a new one is checked again after it is written.
   */
  async acquire(self: SelfLease, previous: LeaseSubnets | null): Promise<LeaseSubnets> {
    this.self = self;
    const config = this.config!;
    const v6 = config.ipv6;
    const value = encodeLease({ ...self, dualStack: v6 !== null });
    let granted: string | null = null;
    const grant = async () => (granted ??= await this.client.grantLease(this.ttlSeconds));
    const fits = (l: LeaseRecord) => allowsSubnet(config, l.subnet) && (v6 ? l.subnet6 !== null && allowsSubnet6(v6, l.subnet6) : l.subnet6 === null);
    for (let attempt = 0; attempt < ACQUIRE_ATTEMPTS; attempt++) {
      const { kvs } = await this.client.getPrefix(subnetsPrefix(this.prefix));
      const leases = kvs.map((kv) => ({ kv, lease: this.parse(kv) }));
      const mine = leases.find((l) => l.lease && l.lease.publicIp === self.publicIp && fits(l.lease));
      // Ours, but made for another config (IPv6 turned on or off): flannel deletes it, keeping the IPv4 subnet if it can.
      const stale = mine ? undefined : leases.find((l) => l.lease && l.lease.publicIp === self.publicIp && allowsSubnet(config, l.lease.subnet));
      if (stale) {
        await this.client.delete(stale.kv.key);
        previous = { subnet: stale.lease!.subnet, subnet6: previous?.subnet6 ?? null };
        log.info('deleted our lease made for another network config', { key: stale.kv.key });
        continue;
      }
      let won: LeaseSubnets | null = null;
      let leaseId: string | null = null;
      if (mine) {
        // A restart (or a takeover) finds its lease still alive: it is renewed, not granted anew.
        // (With the TTL asked for: a changed --etcd-lease-ttl gets a lease of its own.)
        const alive = mine.kv.lease !== '0' && (await this.client.keepAlive(mine.kv.lease).catch(() => 0)) === this.ttlSeconds;
        leaseId = alive ? mine.kv.lease : await grant();
        if ((alive && mine.kv.value === value) || (await this.client.replace(mine.kv.key, value, mine.kv.modRevision, leaseId))) won = mine.lease!;
      } else {
        const keys = leases.map((l) => subnetOfKey(this.prefix, l.kv.key));
        const taken = new Set(keys.map((k) => k?.subnet.addr));
        const taken6 = new Set(keys.map((k) => (k?.subnet6 ? ipv6Value(k.subnet6.words) : undefined)));
        const wanted = previous && allowsSubnet(config, previous.subnet) && !taken.has(previous.subnet.addr) ? previous.subnet : randomFree(config, taken);
        const p6 = previous?.subnet6;
        const wanted6 = v6 ? (p6 && allowsSubnet6(v6, p6) && !taken6.has(ipv6Value(p6.words)) ? p6 : randomFree6(v6, taken6)) : null;
        if (!wanted || (v6 && !wanted6)) {
          if (granted) await this.client.revokeLease(granted).catch(() => {});
          throw new NetworkExhausted(!wanted
            ? `no free subnet left in ${formatCidr(config.network)}: all ${subnetCount(config)} /${config.subnetLen} subnets are leased`
            : `no free IPv6 subnet left in ${formatCidr6(v6!.network)}`);
        }
        leaseId = await grant();
        const key = leaseKey(this.prefix, wanted, wanted6);
        if (await this.client.create(key, value, leaseId)) {
          if (wanted6 && (await this.sharedWithEarlier(key, wanted, wanted6))) await this.client.delete(key);
          else won = { subnet: wanted, subnet6: wanted6 };
        }
      }
      if (won) {
        // A lease granted but not used (the old one was alive after all) goes.
        if (granted && granted !== leaseId) await this.client.revokeLease(granted).catch(() => {});
        this.subnet = won.subnet;
        this.subnet6 = won.subnet6;
        this.leaseId = leaseId;
        return { subnet: won.subnet, subnet6: won.subnet6 };
      }
      await new Promise((r) => setTimeout(r, Math.random() * 50 * (attempt + 1))); // lost a race: look again
    }
    if (granted) await this.client.revokeLease(granted).catch(() => {});
    throw new Error(`could not take a subnet after ${ACQUIRE_ATTEMPTS} attempts (too many hosts competing?)`);
  }

  /**
   * Whether a key written a moment ago shares a subnet with a key created
   * before it: two hosts may create different dual-stack keys for one IPv4
   * (or one IPv6) subnet at once, and the later one yields.
   */
  private async sharedWithEarlier(key: string, subnet: Cidr, subnet6: Cidr6): Promise<boolean> {
    const { kvs } = await this.client.getPrefix(subnetsPrefix(this.prefix));
    const ours = kvs.find((kv) => kv.key === key);
    const v6 = ipv6Value(subnet6.words);
    return kvs.some((kv) => {
      const other = kv.key === key ? null : subnetOfKey(this.prefix, kv.key);
      const shares = other !== null && (other.subnet.addr === subnet.addr || (other.subnet6 !== null && ipv6Value(other.subnet6.words) === v6));
      return shares && (ours === undefined || kv.createRevision < ours.createRevision);
    });
  }

  /** Reports every peer lease now, then follows puts, deletes and expiries live. */
  async follow(listener: LeaseListener): Promise<void> {
    this.listener = listener;
    const revision = await this.resync();
    this.watch = new PrefixWatch(this.client, subnetsPrefix(this.prefix), revision + 1, {
      events: (events) => this.apply(events),
      resync: () => this.resync(),
      lost: (error) => this.unreachable(error),
    });
    this.watch.start();
    this.scheduleRenewal(this.renewInterval());
  }

  /** Called after the lease expired and was taken again (things bound to the old lease are gone). */
  onReacquired(handler: () => void): void {
    this.reacquiredHandlers.push(handler);
  }

  /** Called when the subnet is no longer this host's: its owner must stop, so that a restart takes another. */
  onLost(handler: (reason: string) => void): void {
    this.lostHandlers.push(handler);
  }

  close(): void {
    // The lease stays in etcd, as flanneld leaves it: a restart takes it back.
    this.closed = true;
    this.watch?.close();
    if (this.renewTimer) clearTimeout(this.renewTimer);
  }

  private renewInterval(): number {
    return Math.max(1000, Math.min(this.ttlSeconds * 1000 / 3, 3600_000));
  }

  private scheduleRenewal(ms: number): void {
    if (this.closed) return;
    this.renewTimer = setTimeout(() => void this.renew(), ms);
  }

  private async renew(): Promise<void> {
    try {
      const ttl = await this.client.keepAlive(this.leaseId!);
      if (ttl > 0) {
        this.connected();
        return this.scheduleRenewal(this.renewInterval());
      }
      // The lease expired while etcd was out of reach: take the same subnet again if it is free.
      const had = this.subnet!;
      const had6 = this.subnet6;
      log.warn('lease expired; taking the subnet again', { subnet: formatCidr(had) });
      const got = await this.acquire(this.self!, { subnet: had, subnet6: had6 });
      if (got.subnet.addr !== had.addr || (had6 && formatCidr6(had6) !== formatCidr6(got.subnet6!))) {
        const reason = `the subnet ${formatCidr(had)} went to another host while the lease was expired (offered ${formatCidr(got.subnet)}); exiting so that a restart takes the new one`;
        for (const handler of this.lostHandlers) handler(reason);
        return;
      }
      this.connected();
      for (const handler of this.reacquiredHandlers) handler();
      this.scheduleRenewal(this.renewInterval());
    } catch (error) {
      this.unreachable(error as Error);
      this.scheduleRenewal(2000);
    }
  }

  private connected(): void {
    if (this.state === 'connected') return;
    this.state = 'connected';
    log.info('etcd reachable again', { endpoint: this.client.endpoint });
  }

  private unreachable(error: Error): void {
    if (this.closed) return;
    if (this.state !== 'unreachable') log.warn('etcd unreachable; forwarding on the known routes', { error: error.message });
    this.state = 'unreachable';
  }

  /** Re-reads all leases, reports the differences, and returns the revision read. */
  private async resync(): Promise<number> {
    const { kvs, revision } = await this.client.getPrefix(subnetsPrefix(this.prefix));
    const seen = new Set<number>();
    for (const kv of kvs) {
      const lease = this.parse(kv);
      if (lease && this.isPeer(lease)) {
        seen.add(lease.subnet.addr);
        this.known.set(lease.subnet.addr, lease);
        this.listener!.set(lease);
      }
    }
    for (const [addr, lease] of this.known) {
      if (!seen.has(addr)) {
        this.known.delete(addr);
        this.listener!.remove(lease);
      }
    }
    this.connected();
    return revision;
  }

  private apply(events: WatchEvent[]): void {
    this.connected();
    for (const e of events) {
      if (e.type === 'put') {
        const lease = this.parse(e.kv);
        if (!lease || !this.isPeer(lease)) continue;
        this.known.set(lease.subnet.addr, lease);
        this.listener!.set(lease);
      } else {
        const subnet = subnetOfKey(this.prefix, e.key)?.subnet;
        const known = subnet && this.known.get(subnet.addr);
        // A dual-stack key deleted after another key for the same IPv4 subnet was put (a race lost) is not the known one.
        if (known && leaseKey(this.prefix, known.subnet, known.subnet6) === e.key) {
          this.known.delete(subnet.addr);
          this.listener!.remove(known);
        } else if (subnet && this.subnet && subnet.addr === this.subnet.addr && e.key === leaseKey(this.prefix, this.subnet, this.subnet6)) {
          log.warn('our own lease was deleted from etcd; it is renewed at the next keepalive', { subnet: formatCidr(subnet) });
        }
      }
    }
  }

  private isPeer(lease: LeaseRecord): boolean {
    if (this.subnet && lease.subnet.addr === this.subnet.addr) return false;
    if (this.subnet6 && lease.subnet6 && formatCidr6(lease.subnet6) === formatCidr6(this.subnet6)) {
      this.reportOnce(`ours6:${formatCidr(lease.subnet)}`, 'ignoring a lease for our IPv6 subnet', { subnet: formatCidr(lease.subnet), subnet6: formatCidr6(lease.subnet6) });
      return false;
    }
    if (lease.backendType !== this.self!.backendType) {
      this.reportOnce(`backend:${formatCidr(lease.subnet)}`, 'ignoring a lease for another backend', { subnet: formatCidr(lease.subnet), backend: lease.backendType });
      return false;
    }
    return true;
  }

  private parse(kv: KeyValue): LeaseRecord | null {
    const subnet = subnetOfKey(this.prefix, kv.key);
    if (!subnet) {
      this.reportOnce(`key:${kv.key}`, 'ignoring a key under subnets/ that names no subnet', { key: kv.key });
      return null;
    }
    try {
      return decodeLease(subnet, kv.value);
    } catch (error) {
      this.reportOnce(`value:${kv.key}:${kv.modRevision}`, 'ignoring a malformed lease', { key: kv.key, error: (error as Error).message });
      return null;
    }
  }

  private reportOnce(id: string, message: string, fields: Record<string, unknown>): void {
    if (this.reported.has(id)) return;
    this.reported.add(id);
    log.warn(message, fields);
  }
}

/** A free IPv6 subnet, at random, as flannel picks one: among the first 100 free from the bottom of the range. */
function randomFree6(config: NetworkConfig6, taken: Set<bigint | undefined>): Cidr6 | null {
  const size = 1n << BigInt(128 - config.subnetLen);
  const free: bigint[] = [];
  for (let v = config.min; v <= config.max && free.length < 100; v += size) if (!taken.has(v)) free.push(v);
  return free.length === 0 ? null : cidr6OfValue(free[Math.floor(Math.random() * free.length)], config.subnetLen);
}

function randomFree(config: NetworkConfig, taken: Set<number | undefined>): Cidr | null {
  const count = subnetCount(config);
  // Random probes first (cheap when the network is mostly free), then a scan from a random start.
  for (let i = 0; i < 64; i++) {
    const s = nthSubnet(config, Math.floor(Math.random() * count));
    if (!taken.has(s.addr)) return s;
  }
  const start = Math.floor(Math.random() * count);
  for (let i = 0; i < count; i++) {
    const s = nthSubnet(config, (start + i) % count);
    if (!taken.has(s.addr)) return s;
  }
  return null;
}

