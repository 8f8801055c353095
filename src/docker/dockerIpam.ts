// The Docker plugin's IPAM driver: one pool, this host's subnet; addresses
// from the subnet's upper half (ipam/hostShares.ts), the gateway its .1.
// Docker's replays (a retried call whose answer was lost) get the answer
// they had: an address is tied to the endpoint's MAC, which Docker sends
// because the capabilities ask for it.
import { type Cidr, cidrContains, formatCidr, formatIPv4, isIPv4, parseIPv4 } from '../net/ipv4.js';
import { hostShares, type HostShares } from '../ipam/hostShares.js';
import { addressInSubnet, GATEWAY_TYPE, PluginError, type RequestAddress, type RequestPool } from './pluginProtocol.js';
import type { PluginState } from './pluginState.js';

export const ADDRESS_SPACE = 'tsoverlay';

export class DockerIpam {
  private readonly shares: HostShares;
  readonly poolId: string;

  constructor(readonly subnet: Cidr, private readonly state: PluginState) {
    this.shares = hostShares(subnet);
    this.poolId = `${ADDRESS_SPACE}/${formatCidr(subnet)}`;
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
    if (req.v6) throw new PluginError('tsoverlay hands out IPv4 only: create the network without --ipv6');
    if (req.subPool !== '') throw new PluginError('--ip-range is not taken: tsoverlay hands out its share of this host\'s subnet');
    const subnet = formatCidr(this.subnet);
    // Without --subnet, libnetwork asks for pools until one overlaps no route of the host's, and this host routes its subnet.
    if (req.pool === '') throw new PluginError(`create the network with --subnet ${subnet} (this host's subnet; FLANNEL_SUBNET in subnet.env will do)`);
    if (!this.isSubnet(req.pool)) throw new PluginError(`tsoverlay hands out this host's subnet ${subnet} only, not ${req.pool}`);
    // Nothing to keep: there is one pool, and its addresses are kept one by one.
    // The gateway comes with the pool: libnetwork then asks for no address for it.
    return { PoolID: this.poolId, Pool: formatCidr(this.subnet), Data: { [GATEWAY_TYPE]: `${formatIPv4(this.shares.gateway)}/${this.subnet.len}` } };
  }

  releasePool(poolId: string): object {
    this.checkPool(poolId);
    return {};
  }

  async requestAddress(req: RequestAddress): Promise<object> {
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

  async releaseAddress(poolId: string, address: string): Promise<object> {
    this.checkPool(poolId);
    const ip = addressInSubnet(this.subnet, address);
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

  /** The next free address after the last one given; a replay gets its own back. */
  private freeAddress(mac: string): string {
    const held = this.state.data.addresses;
    if (mac !== '') {
      for (const [ip, holder] of Object.entries(held)) if (holder === mac) return ip;
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
