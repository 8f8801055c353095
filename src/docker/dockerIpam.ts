// The Docker plugin's IPAM driver: one pool, this host's subnet; addresses
// from the subnet's upper half (ipam/hostShares.ts), the gateway its .1.
// Dual stack, a second pool: the IPv6 subnet, split the same way.
// Docker's replays (a retried call whose answer was lost) get the answer
// they had: an address is tied to the endpoint's MAC, which Docker sends
// because the capabilities ask for it.
import { type Cidr, cidrContains, formatCidr, formatIPv4, isIPv4, parseIPv4 } from '../net/ipv4.js';
import { formatIPv6, isIPv6, parseIPv6 } from '../net/ipv6.js';
import { bytesOf, type Cidr6, cidr6ContainsWords, cidr6OfValue, formatCidr6, ipv6Value, wordsOf } from '../net/ipv6Cidr.js';
import { hostShares, type HostShares, hostShares6 } from '../ipam/hostShares.js';
import { addressInSubnet, addressInSubnet6, GATEWAY_TYPE, PluginError, type RequestAddress, type RequestPool } from './pluginProtocol.js';
import type { PluginState } from './pluginState.js';

export const ADDRESS_SPACE = 'tsoverlay';

/** The IPv6 pool: the subnet, its pool id, and the share's bounds as numbers. */
interface Pool6 {
  subnet: Cidr6;
  poolId: string;
  gateway: string;
  first: bigint;
  last: bigint;
}

export class DockerIpam {
  private readonly shares: HostShares;
  readonly poolId: string;
  private readonly v6: Pool6 | null;

  constructor(readonly subnet: Cidr, private readonly state: PluginState, subnet6: Cidr6 | null = null) {
    this.shares = hostShares(subnet);
    this.poolId = `${ADDRESS_SPACE}/${formatCidr(subnet)}`;
    if (subnet6) {
      const s = hostShares6(subnet6);
      const value = (ip: string) => ipv6Value(wordsOf(parseIPv6(ip)));
      this.v6 = { subnet: subnet6, poolId: `${ADDRESS_SPACE}/${formatCidr6(subnet6)}`, gateway: s.gateway, first: value(s.docker.first), last: value(s.docker.last) };
    } else {
      this.v6 = null;
    }
  }

  capabilities(): object {
    // No replay: the state outlives dockerd's restarts (and ours).
    return { RequiresMACAddress: true, RequiresRequestReplay: false };
  }

  addressSpaces(): object {
    return { LocalDefaultAddressSpace: ADDRESS_SPACE, GlobalDefaultAddressSpace: ADDRESS_SPACE };
  }

  /** How many addresses are handed out now (the gateway not counted). */
  get allocated(): number {
    return Object.keys(this.state.data.addresses).length;
  }

  get share(): string {
    return `${formatIPv4(this.shares.docker.first)}-${formatIPv4(this.shares.docker.last)}`;
  }

  requestPool(req: RequestPool): object {
    if (req.subPool !== '') throw new PluginError('--ip-range is not taken: tsoverlay hands out its share of this host\'s subnet');
    if (req.v6) return this.requestPool6(req);
    const subnet = formatCidr(this.subnet);
    // Without --subnet, libnetwork asks for pools until one overlaps no route of the host's, and this host routes its subnet.
    if (req.pool === '') throw new PluginError(`create the network with --subnet ${subnet} (this host's subnet; FLANNEL_SUBNET in subnet.env will do)`);
    if (!this.isSubnet(req.pool)) throw new PluginError(`tsoverlay hands out this host's subnet ${subnet} only, not ${req.pool}`);
    // Nothing to keep: there is one pool, and its addresses are kept one by one.
    // The gateway comes with the pool: libnetwork then asks for no address for it.
    return { PoolID: this.poolId, Pool: formatCidr(this.subnet), Data: { [GATEWAY_TYPE]: `${formatIPv4(this.shares.gateway)}/${this.subnet.len}` } };
  }

  private requestPool6(req: RequestPool): object {
    const v6 = this.v6;
    if (!v6) throw new PluginError('this host has no IPv6 subnet: launch tsoverlay dual stack (--ipv6, --network6/--subnet6, or EnableIPv6 in etcd), or create the network without --ipv6');
    const subnet = formatCidr6(v6.subnet);
    if (req.pool === '') throw new PluginError(`create the network with --subnet ${subnet} too (this host's IPv6 subnet; FLANNEL_IPV6_SUBNET in subnet.env will do)`);
    const [ip, len] = req.pool.split('/');
    if (len !== String(v6.subnet.len) || !isIPv6(ip) || !cidr6ContainsWords(v6.subnet, wordsOf(parseIPv6(ip)))) throw new PluginError(`tsoverlay hands out this host's IPv6 subnet ${subnet} only, not ${req.pool}`);
    return { PoolID: v6.poolId, Pool: subnet, Data: { [GATEWAY_TYPE]: `${v6.gateway}/${v6.subnet.len}` } };
  }

  releasePool(poolId: string): object {
    if (poolId !== this.v6?.poolId) this.checkPool(poolId);
    return {};
  }

  async requestAddress(req: RequestAddress): Promise<object> {
    if (this.v6 && req.poolId === this.v6.poolId) return this.requestAddress6(this.v6, req);
    this.checkPool(req.poolId);
    const len = this.subnet.len;
    if (req.gateway) {
      if (req.address !== '' && req.address !== formatIPv4(this.shares.gateway)) {
        throw new PluginError(`the gateway is the bridge's ${formatIPv4(this.shares.gateway)}, not ${req.address}: leave --gateway out`);
      }
      return { Address: `${formatIPv4(this.shares.gateway)}/${len}`, Data: {} };
    }
    const ip = req.address === '' ? this.freeAddress(req.mac) : this.wanted(req.address, req.mac);
    this.state.data.addresses[ip] = req.mac;
    await this.state.save();
    return { Address: `${ip}/${len}`, Data: {} };
  }

  private async requestAddress6(v6: Pool6, req: RequestAddress): Promise<object> {
    const len = v6.subnet.len;
    if (req.gateway) {
      if (req.address !== '' && addressInSubnet6(v6.subnet, req.address) !== v6.gateway) {
        throw new PluginError(`the IPv6 gateway is the bridge's ${v6.gateway}, not ${req.address}: leave --gateway out`);
      }
      return { Address: `${v6.gateway}/${len}`, Data: {} };
    }
    const ip = req.address === '' ? this.freeAddress6(v6, req.mac) : this.wanted6(v6, req.address, req.mac);
    this.state.data.addresses[ip] = req.mac;
    await this.state.save();
    return { Address: `${ip}/${len}`, Data: {} };
  }

  async releaseAddress(poolId: string, address: string): Promise<object> {
    const v6 = this.v6 && poolId === this.v6.poolId ? this.v6 : null;
    if (!v6) this.checkPool(poolId);
    const ip = v6 ? addressInSubnet6(v6.subnet, address) : addressInSubnet(this.subnet, address);
    // The gateway is never held; an address already free is a replay.
    if (ip in this.state.data.addresses) {
      delete this.state.data.addresses[ip];
      await this.state.save();
    }
    return {};
  }

  /** The subnet as a CIDR, also in its gateway form (FLANNEL_SUBNET's 10.1.2.1/24). */
  private isSubnet(text: string): boolean {
    const [ip, len] = text.split('/');
    if (len !== String(this.subnet.len) || !isIPv4(ip)) return false;
    return cidrContains(this.subnet, parseIPv4(ip));
  }

  private checkPool(poolId: string): void {
    if (poolId !== this.poolId) throw new PluginError(`unknown pool ${JSON.stringify(poolId)} (this host's is ${this.poolId})`);
  }

  /** A specific address: free, or already this MAC's (a replay). */
  private wanted(text: string, mac: string): string {
    const ip = addressInSubnet(this.subnet, text);
    const value = parseIPv4(ip);
    const { first, last } = this.shares.docker;
    if (value < first || value > last) throw new PluginError(`${ip} is outside the addresses tsoverlay's Docker plugin hands out (${this.share})`);
    const holder = this.state.data.addresses[ip];
    if (holder !== undefined && !(mac !== '' && holder === mac)) throw new PluginError(`${ip} is already in use`);
    return ip;
  }

  private wanted6(v6: Pool6, text: string, mac: string): string {
    const ip = addressInSubnet6(v6.subnet, text);
    const value = ipv6Value(wordsOf(parseIPv6(ip)));
    if (value < v6.first || value > v6.last) throw new PluginError(`${ip} is outside the IPv6 addresses tsoverlay's Docker plugin hands out (the upper half of ${formatCidr6(v6.subnet)})`);
    const holder = this.state.data.addresses[ip];
    if (holder !== undefined && !(mac !== '' && holder === mac)) throw new PluginError(`${ip} is already in use`);
    return ip;
  }

  /** As freeAddress: the next free IPv6 address after the last one given (a replay gets its own back). */
  private freeAddress6(v6: Pool6, mac: string): string {
    const held = this.state.data.addresses;
    const inPool = (ip: string) => isIPv6(ip) && cidr6ContainsWords(v6.subnet, wordsOf(parseIPv6(ip)));
    if (mac !== '') {
      for (const [ip, holder] of Object.entries(held)) if (holder === mac && inPool(ip)) return ip;
    }
    const size = v6.last - v6.first + 1n;
    let offset = BigInt(`0x${this.state.data.cursor6 ?? '0'}`) % size;
    // At most one probe per address held, plus one: the share is far larger than anything held.
    for (let i = 0; i <= Object.keys(held).length; i++, offset = (offset + 1n) % size) {
      const ip = formatIPv6(bytesOf(cidr6OfValue(v6.first + offset, 128).words));
      if (!(ip in held)) {
        this.state.data.cursor6 = ((offset + 1n) % size).toString(16);
        return ip;
      }
    }
    throw new PluginError(`no free IPv6 address left in the upper half of ${formatCidr6(v6.subnet)}`);
  }

  /** The next free address after the last one given; a replay gets its own back. */
  private freeAddress(mac: string): string {
    const held = this.state.data.addresses;
    if (mac !== '') {
      for (const [ip, holder] of Object.entries(held)) if (holder === mac && isIPv4(ip)) return ip;
    }
    const { first, last } = this.shares.docker;
    const size = last - first + 1;
    const start = this.state.data.cursor >= first && this.state.data.cursor <= last ? this.state.data.cursor : first;
    for (let i = 0; i < size; i++) {
      const value = first + ((start - first + i) % size);
      const ip = formatIPv4(value);
      if (!(ip in held)) {
        this.state.data.cursor = value + 1;
        return ip;
      }
    }
    throw new PluginError(`no free address left in ${this.share} (${size} handed out)`);
  }
}
