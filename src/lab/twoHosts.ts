// Two hosts, each with one container, joined by tsoverlay (or by kernel VXLAN):
// the shape of the demo, the foundation tests and the benchmarks.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { formatMac, randomMac } from '../net/mac.js';
import { seedVtepMac, setUpKernelVxlan } from './kernelVxlan.js';
import type { Lab, LabContainer, LabHost } from './lab.js';
import type { LabDaemon } from './labDaemon.js';

export const NETWORK = '10.40.0.0/16';
/** With `ipv6`: the IPv6 network, cut into fd00:40:0:1::/64 (side a) and fd00:40:0:2::/64 (side b). */
export const NETWORK6 = 'fd00:40::/48';
export const BRIDGE = 'tsobr';

export interface Side {
  host: LabHost;
  subnet: string;
  vtepMac: string;
  daemon: LabDaemon | null;
  container: LabContainer;
  /** The container's IPv6 address (with `ipv6`), else null. */
  container6: string | null;
}

export type Overlay = 'udp' | 'vxlan' | 'sleeve' | 'kernel-vxlan';

export interface TwoHosts {
  a: Side;
  b: Side;
}

/**
 * Side `a` runs tsoverlay unless `overlayA` is kernel-vxlan; side `b` likewise.
 * Mixing tsoverlay vxlan with kernel-vxlan is the interop case.
 */
export interface TwoHostsOptions {
  /** More `launch` flags for both daemons. */
  extraArgs?: string[];
  /** More `launch` flags for side a's daemon only. */
  extraArgsA?: string[];
  /** Dual stack: IPv6 subnets and routes beside the IPv4 ones, and IPv6 on the containers. */
  ipv6?: boolean;
  /** The hosts reach each other over IPv6 on the underlay (fd99::N): their public IPs and routes are IPv6. */
  underlay6?: boolean;
}

export async function twoHosts(lab: Lab, overlayA: Overlay, overlayB: Overlay = overlayA, options: TwoHostsOptions = {}): Promise<TwoHosts> {
  const hosts = [await lab.addHost('a'), await lab.addHost('b')];
  const subnets = ['10.40.1.0/24', '10.40.2.0/24'];
  const subnets6 = ['fd00:40:0:1::/64', 'fd00:40:0:2::/64'];
  const macs = [formatMac(randomMac()), formatMac(randomMac())];
  const overlays = [overlayA, overlayB];
  const publicIps = options.underlay6 ? [await lab.addUnderlayIPv6(hosts[0]), await lab.addUnderlayIPv6(hosts[1])] : [hosts[0].ip, hosts[1].ip];
  const sides: Side[] = [];
  for (let i = 0; i < 2; i++) {
    const j = 1 - i;
    const host = hosts[i];
    const gateway = subnets[i].replace(/0\/24$/, '1');
    let daemon: LabDaemon | null = null;
    let mtu: number;
    if (overlays[i] === 'kernel-vxlan') {
      mtu = options.underlay6 ? 1430 : 1450; // flannel.1 over IPv4; over IPv6 the outer header is 20 bytes longer
      await lab.addBridge(host, BRIDGE, `${gateway}/24`, mtu);
      if (options.ipv6) await lab.exec(host.ns, 'ip', ['addr', 'add', `${subnets6[i].replace(/\/64$/, '')}1/64`, 'dev', BRIDGE, 'nodad']);
      const v6 = options.ipv6 ? { subnet6: subnets6[i] } : {};
      await setUpKernelVxlan(lab, host, {
        subnet: subnets[i], vtepMac: macs[i], mtu, ...v6, local: publicIps[i],
        peers: [{ subnet: subnets[j], publicIp: publicIps[j], vtepMac: macs[j], ...(options.ipv6 ? { subnet6: subnets6[j] } : {}) }],
      });
    } else {
      const runDir = join(lab.dir, host.name);
      mkdirSync(runDir, { recursive: true });
      seedVtepMac(runDir, macs[i]);
      const peer = overlays[i] === 'vxlan' ? `${publicIps[j]}@${macs[j]}` : publicIps[j];
      daemon = await lab.startDaemon(host, [
        '--backend', overlays[i], '--network', NETWORK, '--subnet', subnets[i], '--public-ip', publicIps[i],
        '--bridge', BRIDGE, '--route', `${subnets[j]}=${peer}`, ...(options.extraArgs ?? []), ...(i === 0 ? options.extraArgsA ?? [] : []),
        ...(options.ipv6 ? ['--network6', NETWORK6, '--subnet6', subnets6[i], '--route', `${subnets6[j]}=${peer}`] : []),
      ]);
      mtu = (await daemon.status()).mtu;
    }
    const container = await lab.addContainer(host, 'c1', `${gateway.replace(/1$/, '2')}/24`, gateway, BRIDGE, mtu);
    const prefix6 = subnets6[i].replace(/\/64$/, '');
    const container6 = options.ipv6 ? await lab.addContainerIPv6(container, `${prefix6}2/64`, `${prefix6}1`) : null;
    sides.push({ host, subnet: subnets[i], vtepMac: macs[i], daemon, container, container6 });
  }
  return { a: sides[0], b: sides[1] };
}
