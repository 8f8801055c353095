// Wiring and lifecycle of one tsoverlay host: start, signals, graceful stop.
import { ApiServer } from './api/server.js';
import { buildStatus } from './api/status.js';
import { formatApiAddress } from './config/apiAddress.js';
import type { LaunchConfig } from './config/launchConfig.js';
import { Dataplane } from './dataplane/dataplane.js';
import { configureBridge, configureTun, enableForwarding, findUnderlay, removeLink } from './host/links.js';
import { log } from './log.js';
import { formatCidr } from './net/ipv4.js';
import { formatMac } from './net/mac.js';
import { loadVtepMac } from './state/vtepMac.js';

/** A start-up failure the user can fix; printed as one line. */
export class StartError extends Error {}

export async function runDaemon(config: LaunchConfig): Promise<void> {
  const vtepMac = await loadVtepMac(config.runDir);
  const underlay = await findUnderlay(config.publicIp);
  const mtu = config.mtu ?? underlay.mtu - config.backend.overhead;
  const codec = config.backend.codec({ vni: config.vni, vtepMac });

  const dataplane = openDataplane(config, codec, mtu);
  let bridgeCreated = false;
  const api = new ApiServer(config.api).on('GET /status', () => buildStatus(config, dataplane, vtepMac, mtu));
  try {
    await configureTun(dataplane.tun.name, mtu, config.subnet, config.network);
    if (config.bridge) bridgeCreated = await configureBridge(config.bridge, mtu, config.subnet);
    await enableForwarding();
    for (const route of config.routes) {
      dataplane.setRoute(route.cidr, { addr: route.publicIp, port: config.port, vtepMac: route.vtepMac });
    }
    await api.listen();
  } catch (error) {
    dataplane.close();
    if (bridgeCreated && config.bridge) await removeLink(config.bridge);
    throw new StartError((error as Error).message);
  }
  dataplane.start();
  log.info('ready', {
    backend: config.backend.name,
    subnet: formatCidr(config.subnet),
    tun: dataplane.tun.name,
    mtu,
    port: dataplane.udp.port,
    vtepMac: formatMac(vtepMac),
    api: formatApiAddress(config.api),
    routes: config.routes.length,
  });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal });
    await api.close();
    dataplane.close(); // the TUN, and the kernel routes through it, go with its descriptor
    if (bridgeCreated && config.bridge) await removeLink(config.bridge);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

function openDataplane(config: LaunchConfig, codec: ReturnType<LaunchConfig['backend']['codec']>, mtu: number): Dataplane {
  try {
    return new Dataplane({ tunName: config.tun, codec, listenAddress: config.listen, port: config.port, localSubnet: config.subnet, mtu });
  } catch (error) {
    const message = (error as Error).message;
    if (message.startsWith('open /dev/net/tun') || message.startsWith('TUNSETIFF')) {
      throw new StartError(`cannot open TUN ${config.tun}: ${message}`);
    }
    if (message.startsWith('bind')) throw new StartError(`cannot bind UDP ${config.listen}:${config.port}: ${message}`);
    throw error;
  }
}
