// The Docker plugin's network driver: networks over this host's subnet on
// the daemon's bridge (local scope: the same name on every host is one
// overlay, as weave's plugin has it), one veth pair per joined endpoint.
// Addresses come from the IPAM driver; Docker sets them (and the MAC) on the
// container's end itself.
import { type Cidr, cidrHost, formatCidr, formatIPv4 } from '../net/ipv4.js';
import { formatIPv6 } from '../net/ipv6.js';
import { type Cidr6, cidr6Host, formatCidr6 } from '../net/ipv6Cidr.js';
import type { EndpointLinks } from '../host/veth.js';
import { addressInSubnet, addressInSubnet6, type CreateEndpoint, type CreateNetwork, type EndpointRef, PluginError } from './pluginProtocol.js';
import type { PluginState } from './pluginState.js';

export interface DriverHost {
  subnet: Cidr;
  /** Dual stack: this host's IPv6 subnet; null: IPv4 only. */
  subnet6: Cidr6 | null;
  bridge: string;
  mtu: number;
}

export class NetworkDriver {
  constructor(private readonly host: DriverHost, private readonly state: PluginState, private readonly links: EndpointLinks) {}

  capabilities(): object {
    return { Scope: 'local', ConnectivityScope: 'global' };
  }

  get networks(): number {
    return Object.keys(this.state.data.networks).length;
  }

  get endpoints(): number {
    return Object.keys(this.state.data.endpoints).length;
  }

  async createNetwork(req: CreateNetwork): Promise<object> {
    const subnet = formatCidr(this.host.subnet);
    const gateway = formatIPv4(cidrHost(this.host.subnet, 1));
    if (req.ipv4.length !== 1 || req.ipv4[0].pool !== subnet) {
      const pools = req.ipv4.map((d) => d.pool).join(', ') || 'none';
      throw new PluginError(`a tsoverlay network takes this host's subnet ${subnet} (pools given: ${pools}): create it with --ipam-driver tsoverlay --subnet ${subnet}`);
    }
    const given = req.ipv4[0].gateway.split('/')[0];
    if (given !== '' && given !== gateway) throw new PluginError(`the gateway is the bridge's ${gateway}, not ${given}`);
    this.state.data.networks[req.networkId] = { pool: subnet, gateway, ...this.ipv6Part(req) };
    await this.state.save();
    return {};
  }

  /** --ipv6: this host's IPv6 subnet as the one IPv6 pool, its ::1 the gateway. */
  private ipv6Part(req: CreateNetwork): { pool6: string; gateway6: string } | object {
    if (req.ipv6.length === 0) return {};
    const subnet6 = this.host.subnet6;
    if (!subnet6) throw new PluginError('this host has no IPv6 subnet: create the network without --ipv6, or launch tsoverlay dual stack');
    const pool6 = formatCidr6(subnet6);
    const gateway6 = formatIPv6(cidr6Host(subnet6, 1));
    if (req.ipv6.length !== 1 || req.ipv6[0].pool !== pool6) {
      throw new PluginError(`a dual-stack tsoverlay network takes this host's IPv6 subnet ${pool6} (pools given: ${req.ipv6.map((d) => d.pool).join(', ')}): create it with --subnet ${pool6}`);
    }
    const given = req.ipv6[0].gateway.split('/')[0];
    if (given !== '' && addressInSubnet6(subnet6, given) !== gateway6) throw new PluginError(`the IPv6 gateway is the bridge's ${gateway6}, not ${given}`);
    return { pool6, gateway6 };
  }

  async deleteNetwork(networkId: string): Promise<object> {
    if (networkId in this.state.data.networks) {
      delete this.state.data.networks[networkId];
      await this.state.save();
    }
    return {};
  }

  async createEndpoint(req: CreateEndpoint): Promise<object> {
    names(req.endpointId);
    const network = this.network(req.networkId);
    if (req.address === '') throw new PluginError('the endpoint has no address: the network needs --ipam-driver tsoverlay');
    addressInSubnet(this.host.subnet, req.address);
    if (req.address6 !== '') {
      if (!network.pool6 || !this.host.subnet6) throw new PluginError('an IPv6 address on a network made without --ipv6');
      addressInSubnet6(this.host.subnet6, req.address6);
    }
    this.state.data.endpoints[req.endpointId] = { network: req.networkId, address: req.address, ...(req.address6 ? { address6: req.address6 } : {}), mac: req.mac };
    await this.state.save();
    // Docker gave the address and MAC: the answer must not give them again.
    return {};
  }

  endpointOperInfo(ref: EndpointRef): object {
    this.endpoint(ref);
    return { Value: {} };
  }

  async deleteEndpoint(ref: EndpointRef): Promise<object> {
    if (!(ref.endpointId in this.state.data.endpoints)) return {};
    await this.links.remove(names(ref.endpointId).hostEnd);
    delete this.state.data.endpoints[ref.endpointId];
    await this.state.save();
    return {};
  }

  async join(ref: EndpointRef): Promise<object> {
    const network = this.network(this.endpoint(ref).network);
    const { hostEnd, containerEnd } = names(ref.endpointId);
    await this.links.create(hostEnd, containerEnd, this.host.bridge, this.host.mtu);
    return { InterfaceName: { SrcName: containerEnd, DstPrefix: 'eth' }, Gateway: network.gateway, ...(network.gateway6 ? { GatewayIPv6: network.gateway6 } : {}) };
  }

  async leave(ref: EndpointRef): Promise<object> {
    this.endpoint(ref);
    await this.links.remove(names(ref.endpointId).hostEnd);
    return {};
  }

  private network(networkId: string) {
    const network = this.state.data.networks[networkId];
    if (!network) throw new PluginError(`unknown network ${JSON.stringify(networkId)}`);
    return network;
  }

  private endpoint(ref: EndpointRef) {
    const endpoint = this.state.data.endpoints[ref.endpointId];
    if (!endpoint || endpoint.network !== ref.networkId) throw new PluginError(`unknown endpoint ${JSON.stringify(ref.endpointId)} on network ${JSON.stringify(ref.networkId)}`);
    return endpoint;
  }
}

/** The pair's names, from the endpoint id (IFNAMSIZ leaves 15 characters). */
function names(endpointId: string): { hostEnd: string; containerEnd: string } {
  if (!/^[A-Za-z0-9]{9,128}$/.test(endpointId)) throw new PluginError(`endpoint id ${JSON.stringify(endpointId)}: want 9-128 letters and digits`);
  const tag = endpointId.slice(0, 9).toLowerCase();
  return { hostEnd: `tsov${tag}`, containerEnd: `tsoc${tag}` };
}
