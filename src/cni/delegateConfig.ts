// The config handed to the reference `bridge` plugin, as flannel renders
// its delegate: a bridge that is the subnet's gateway, host-local addresses
// from this host's subnet, a route to the whole overlay network, the
// overlay's MTU. Kept per attachment, so DEL undoes exactly what ADD did.
import { type Cidr, cidrHost, formatCidr, formatIPv4 } from '../net/ipv4.js';
import { hostShares, hostShares6 } from '../ipam/hostShares.js';
import { formatCidr6 } from '../net/ipv6Cidr.js';
import { delegateVersion } from './cniVersions.js';
import type { HostNetwork } from './hostNetwork.js';
import type { PluginConfig } from './pluginConfig.js';

/** The bridge when neither the config nor the daemon names one. */
export const DEFAULT_BRIDGE = 'tsocni0';

export type DelegateConfig = Record<string, unknown> & { cniVersion: string; name: string; type: string };

export function renderDelegate(config: PluginConfig, host: HostNetwork): DelegateConfig {
  const { subnet, network, subnet6, network6, mtu } = host.env;
  const { ipam: ipamOverrides, ...overrides } = config.delegate;
  const dns = host.daemon.dns;
  const shares = hostShares(subnet);
  // Dual stack (FLANNEL_IPV6_* in subnet.env): a second range and route, as flannel's plugin adds them.
  const v6 = subnet6 && network6 ? { subnet6, network6, shares6: hostShares6(subnet6) } : null;
  return {
    cniVersion: delegateVersion(config.cniVersion),
    name: config.name,
    type: 'bridge',
    // A bridge the daemon made already holds the gateway address: share it.
    bridge: config.bridge ?? host.daemon.bridge ?? DEFAULT_BRIDGE,
    isGateway: true,
    ipMasq: config.ipMasq,
    mtu,
    // resolv.conf has no port: the daemon's DNS is offered only when it answers on 53.
    ...(dns?.address.endsWith(':53') ? { dns: { nameservers: [dns.address.slice(0, -3)], search: [dns.domain] } } : {}),
    ...overrides,
    ipam: {
      type: 'host-local',
      // The subnet's lower half: the Docker plugin hands out the upper (ipam/hostShares.ts).
      ranges: [
        [{ subnet: formatCidr(subnet), rangeStart: formatIPv4(shares.cni.first), rangeEnd: formatIPv4(shares.cni.last), gateway: gateway(subnet) }],
        ...(v6 ? [[{ subnet: formatCidr6(v6.subnet6), rangeStart: v6.shares6.cni.first, rangeEnd: v6.shares6.cni.last, gateway: v6.shares6.gateway }]] : []),
      ],
      // With the gateway spelt out: the bridge plugin's CHECK compares it to the kernel's route.
      routes: [{ dst: formatCidr(network), gw: gateway(subnet) }, ...(v6 ? [{ dst: formatCidr6(v6.network6), gw: v6.shares6.gateway }] : [])],
      ...(typeof ipamOverrides === 'object' && ipamOverrides !== null ? ipamOverrides : {}),
    },
  };
}

function gateway(subnet: Cidr): string {
  return formatIPv4(cidrHost(subnet, 1));
}
