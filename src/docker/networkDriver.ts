// The Docker plugin's network driver: networks over this host's subnet on
// the daemon's bridge (local scope: the same name on every host is one
// overlay, as weave's plugin has it), one veth pair per joined endpoint.
// Addresses come from the IPAM driver; Docker sets them (and the MAC) on the
// container's end itself.
import { type Cidr, cidrHost, formatCidr, formatIPv4 } from '../net/ipv4.js';
import type { EndpointLinks } from '../host/veth.js';
import { addressInSubnet, type CreateEndpoint, type CreateNetwork, type EndpointRef, PluginError } from './pluginProtocol.js';
import type { PluginState } from './pluginState.js';

export interface DriverHost {
  subnet: Cidr;
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
    if (req.ipv6 > 0) throw new PluginError('tsoverlay networks are IPv4 only: create the network without --ipv6');
    if (req.ipv4.length !== 1 || req.ipv4[0].pool !== subnet) {
      const pools = req.ipv4.map((d) => d.pool).join(', ') || 'none';
      throw new PluginError(`a tsoverlay network takes this host's subnet ${subnet} (pools given: ${pools}): create it with --ipam-driver tsoverlay --subnet ${subnet}`);
    }
    const given = req.ipv4[0].gateway.split('/')[0];
    if (given !== '' && given !== gateway) throw new PluginError(`the gateway is the bridge's ${gateway}, not ${given}`);
    this.state.data.networks[req.networkId] = { pool: subnet, gateway };
    await this.state.save();
    return {};
  }

  async deleteNetwork(networkId: string): Promise<object> {
    if (networkId in this.state.data.networks) {
      delete this.state.data.networks[networkId];
      await this.state.save();
    }
    return {};
  }

  async createEndpoint(req: CreateEndpoint): Promise<object> {
    this.network(req.networkId);
    names(req.endpointId);
    if (req.address === '') throw new PluginError('the endpoint has no address: the network needs --ipam-driver tsoverlay');
    addressInSubnet(this.host.subnet, req.address);
    this.state.data.endpoints[req.endpointId] = { network: req.networkId, address: req.address, mac: req.mac };
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
    return { InterfaceName: { SrcName: containerEnd, DstPrefix: 'eth' }, Gateway: network.gateway };
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
