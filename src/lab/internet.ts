// An "internet" for the lab: a router on the lab's underlay with sites
// behind NAT routers hanging off it, as homes and offices hang off their
// providers. A site's router masquerades a LAN of its own; its WAN address
// is in 100.64.0.0/16 (carrier-grade NAT space), one link per site, so that
// a datagram between two sites crosses the internet router: one hop, where
// a TTL can run out, as on the real one. Hosts on the underlay reach the
// sites through `reach`; nothing outside a site has a route into its LAN.
// `random-fully` picks a fresh source port per mapping: a symmetric NAT.
import type { Lab, LabHost } from './lab.js';

export type NatMode = 'masquerade' | 'random-fully';

export interface NatSite {
  router: LabHost;
  hosts: LabHost[];
  /** Drops every mapping the router holds (as a NAT reboot would). */
  flush(): Promise<void>;
}

export class Internet {
  private sites = 0;

  private constructor(
    private readonly lab: Lab,
    readonly router: LabHost,
  ) {}

  static async create(lab: Lab): Promise<Internet> {
    const router = await lab.addHost('inet');
    await lab.exec(router.ns, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    return new Internet(lab, router);
  }

  /** Lets an underlay host reach the sites (a route, not a default route). */
  async reach(host: LabHost): Promise<void> {
    await this.lab.exec(host.ns, 'ip', ['route', 'add', '100.64.0.0/16', 'via', this.router.ip]);
  }

  /** Site `name`: a NAT router at 100.64.K.2, and `hosts` on `lanNet`.0/24 behind it (lanNet e.g. '192.168.7'). */
  async addSite(name: string, lanNet: string, hosts: string[], mode: NatMode = 'masquerade'): Promise<NatSite> {
    const lab = this.lab;
    const k = ++this.sites;
    const wan = `100.64.${k}`;
    const ns = await lab.addSandbox(`${name}-nat`);
    await lab.plug(ns, 'eth0', { ns: this.router.ns, bridge: null }, `s-${name}`, `${wan}.2/24`);
    const router: LabHost = { name: `${name}-nat`, ns, ip: `${wan}.2` };
    await lab.exec(this.router.ns, 'ip', ['addr', 'add', `${wan}.1/24`, 'dev', `s-${name}`]);
    await lab.exec(ns, 'ip', ['route', 'add', 'default', 'via', `${wan}.1`]);
    const gateway = `${lanNet}.254`;
    await lab.exec(ns, 'ip', ['link', 'add', 'lan', 'type', 'bridge']);
    await lab.exec(ns, 'ip', ['addr', 'add', `${gateway}/24`, 'dev', 'lan']);
    await lab.exec(ns, 'ip', ['link', 'set', 'lan', 'up']);
    await lab.exec(ns, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    await lab.exec(ns, 'iptables', ['-t', 'nat', '-A', 'POSTROUTING', '-o', 'eth0', '-j', 'MASQUERADE', ...(mode === 'random-fully' ? ['--random-fully'] : [])]);
    const lan = { ns, bridge: 'lan', gateway };
    const siteHosts: LabHost[] = [];
    for (const [i, host] of hosts.entries()) siteHosts.push(await lab.addLanHost(host, lan, `${lanNet}.${i + 1}`));
    return {
      router,
      hosts: siteHosts,
      flush: async () => {
        await lab.exec(ns, 'conntrack', ['-F']).catch(() => '');
      },
    };
  }
}
