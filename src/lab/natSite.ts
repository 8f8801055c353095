// A site behind a NAT router, as a home or an office is: the router is a host
// on the lab's underlay (the "internet") masquerading a LAN of its own, and
// the site's hosts sit on that LAN with their default route via the router.
// Nothing on the underlay has a route into the LAN. `random-fully` picks a
// fresh source port per mapping: a symmetric NAT, which punching cannot cross.
import type { Lab, LabHost } from './lab.js';

export type NatMode = 'masquerade' | 'random-fully';

export interface NatSite {
  router: LabHost;
  hosts: LabHost[];
  /** Drops every mapping the router holds (as a NAT reboot would). */
  flush(): Promise<void>;
}

/** Site `name`: a router on the underlay, and `hosts` on `lanNet`.0/24 (lanNet e.g. '192.168.7'). */
export async function addNatSite(lab: Lab, name: string, lanNet: string, hosts: string[], mode: NatMode = 'masquerade'): Promise<NatSite> {
  const router = await lab.addHost(`${name}-nat`);
  const gateway = `${lanNet}.254`;
  await lab.exec(router.ns, 'ip', ['link', 'add', 'lan', 'type', 'bridge']);
  await lab.exec(router.ns, 'ip', ['addr', 'add', `${gateway}/24`, 'dev', 'lan']);
  await lab.exec(router.ns, 'ip', ['link', 'set', 'lan', 'up']);
  await lab.exec(router.ns, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
  await lab.exec(router.ns, 'iptables', ['-t', 'nat', '-A', 'POSTROUTING', '-o', 'eth0', '-j', 'MASQUERADE', ...(mode === 'random-fully' ? ['--random-fully'] : [])]);
  const lan = { ns: router.ns, bridge: 'lan', gateway };
  const siteHosts: LabHost[] = [];
  for (const [i, host] of hosts.entries()) siteHosts.push(await lab.addLanHost(host, lan, `${lanNet}.${i + 1}`));
  return {
    router,
    hosts: siteHosts,
    flush: async () => {
      await lab.exec(router.ns, 'conntrack', ['-F']).catch(() => '');
    },
  };
}
