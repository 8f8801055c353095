// The daemon's side of Docker: the network and IPAM plugin (--docker-plugin)
// over this host's subnet and bridge, and names for containers followed
// through dockerd's events (--docker-api).
import type { DockerStatus } from '../api/status.js';
import { formatDockerApiAddress } from '../config/dockerApiAddress.js';
import type { LaunchConfig } from '../config/launchConfig.js';
import { ContainerNames } from '../docker/containerNames.js';
import { DockerIpam } from '../docker/dockerIpam.js';
import { NetworkDriver } from '../docker/networkDriver.js';
import { PluginServer } from '../docker/pluginServer.js';
import { PluginState } from '../docker/pluginState.js';
import { vethLinks } from '../host/veth.js';
import { log } from '../log.js';
import type { Cidr } from '../net/ipv4.js';
import type { Cidr6 } from '../net/ipv6Cidr.js';
import type { LocalDns } from './localDns.js';

export class DockerIntegration {
  private constructor(
    private readonly plugin: { server: PluginServer; driver: NetworkDriver; ipam: DockerIpam; bridge: string } | null,
    private readonly names: ContainerNames | null,
    private readonly api: string | null,
  ) {}

  /** null when neither is asked for. The plugin listens once this returns; names follow in the background. */
  static async start(config: LaunchConfig, subnet: Cidr, subnet6: Cidr6 | null, mtu: number, dns: LocalDns | null): Promise<DockerIntegration | null> {
    if (config.dockerPlugin === null && config.dockerApi === null) return null;
    let plugin = null;
    if (config.dockerPlugin !== null) {
      const bridge = config.bridge!; // the plugin implies one (launchConfig.ts)
      const state = PluginState.load(config.runDir);
      const ipam = new DockerIpam(subnet, state, subnet6);
      const driver = new NetworkDriver({ subnet, subnet6, bridge, mtu }, state, vethLinks);
      const server = new PluginServer(config.dockerPlugin, driver, ipam, (method, error) => log.warn('docker plugin: request refused', { method, error }));
      await server.listen();
      plugin = { server, driver, ipam, bridge };
    }
    let names = null;
    if (config.dockerApi !== null) {
      if (dns === null) {
        log.warn('--docker-api without DNS (--no-dns): container names are not followed');
      } else {
        names = new ContainerNames(subnet, subnet6, dns.store.domain, dns, config.runDir, (message, fields) => log.info(message, fields), config.dockerApi);
        names.start();
      }
    }
    return new DockerIntegration(plugin, names, config.dockerApi && formatDockerApiAddress(config.dockerApi));
  }

  status(): DockerStatus {
    const p = this.plugin;
    return {
      plugin: p && {
        socket: p.server.socket,
        bridge: p.bridge,
        addresses: p.ipam.share,
        networks: p.driver.networks,
        endpoints: p.driver.endpoints,
        allocated: p.ipam.allocated,
        counters: { ...p.server.counters },
      },
      names: this.names && { api: this.api!, ...this.names.status() },
    };
  }

  async close(): Promise<void> {
    this.names?.close();
    await this.plugin?.server.close();
  }
}
