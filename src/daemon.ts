// Wiring and lifecycle of one tsoverlay host: start, signals, graceful stop.
import { ApiServer } from './api/server.js';
import { buildStatus } from './api/status.js';
import { formatApiAddress } from './config/apiAddress.js';
import type { LaunchConfig } from './config/launchConfig.js';
import { Dataplane } from './dataplane/dataplane.js';
import { HostSetupError } from './host/ipCommand.js';
import { configureBridge, configureTun, enableForwarding, findUnderlay, removeBridgeIfUnused, removeLink, resolvePublicIp } from './host/links.js';
import { log } from './log.js';
import { formatCidr, formatIPv4 } from './net/ipv4.js';
import { formatMac } from './net/mac.js';
import { loadVtepMac } from './state/vtepMac.js';
import { EtcdError, EtcdUnavailable } from './subnet/etcd/etcdClient.js';
import { NetworkExhausted } from './subnet/etcdSubnets.js';
import { NetworkConfigError } from './subnet/networkConfig.js';
import { type HostPlan, planFromEtcd, planFromFlags } from './subnet/hostPlan.js';
import { writeSubnetFiles } from './subnet/subnetEnv.js';

/** A start-up failure the user can fix; printed as one line. */
export class StartError extends Error {}

const USER_ERRORS = [HostSetupError, EtcdUnavailable, EtcdError, NetworkConfigError, NetworkExhausted];

export async function runDaemon(config: LaunchConfig): Promise<void> {
  let plan: HostPlan;
  try {
    const vtepMac = await loadVtepMac(config.runDir);
    const publicIp = config.publicIp ?? (await resolvePublicIp(config.iface));
    plan = config.source.kind === 'static' ? planFromFlags(config, config.source, publicIp, vtepMac) : await planFromEtcd(config, config.source, publicIp, vtepMac);
  } catch (error) {
    if (USER_ERRORS.some((E) => error instanceof E)) throw new StartError((error as Error).message);
    throw error;
  }
  await start(config, plan);
}

async function start(config: LaunchConfig, plan: HostPlan): Promise<void> {
  const underlay = await findUnderlay(plan.publicIp);
  const mtu = config.mtu ?? underlay.mtu - plan.backend.overhead;
  await writeSubnetFiles(config.runDir, { network: plan.network, subnet: plan.subnet, mtu, ipMasq: false });

  const codec = plan.backend.codec({ vni: plan.vni, vtepMac: plan.vtepMac });
  const dataplane = openDataplane(config, plan, codec, mtu);
  let bridgeCreated = false;
  const api = new ApiServer(config.api).on('GET /status', () => buildStatus(plan, dataplane, mtu));
  try {
    await configureTun(dataplane.tun.name, mtu, plan.subnet, plan.network);
    if (config.bridge) bridgeCreated = await configureBridge(config.bridge, mtu, plan.subnet);
    await enableForwarding();
    for (const route of plan.routes) {
      dataplane.setRoute(route.cidr, { addr: route.publicIp, port: plan.port, vtepMac: route.vtepMac });
    }
    await plan.etcd?.follow({
      set: (lease) => {
        dataplane.setRoute(lease.subnet, { addr: lease.publicIp, port: plan.port, vtepMac: lease.vtepMac });
        log.info('route', { subnet: formatCidr(lease.subnet), via: formatIPv4(lease.publicIp), vtepMac: lease.vtepMac ? formatMac(lease.vtepMac) : undefined });
      },
      remove: (subnet) => {
        dataplane.deleteRoute(subnet);
        log.info('route removed', { subnet: formatCidr(subnet) });
      },
    });
    await api.listen();
  } catch (error) {
    plan.etcd?.close();
    dataplane.close();
    if (bridgeCreated && config.bridge) await removeLink(config.bridge);
    throw new StartError((error as Error).message);
  }
  dataplane.start();
  log.info('ready', {
    mode: plan.mode,
    backend: plan.backend.name,
    subnet: formatCidr(plan.subnet),
    tun: dataplane.tun.name,
    mtu,
    port: dataplane.udp.port,
    vtepMac: formatMac(plan.vtepMac),
    api: formatApiAddress(config.api),
    routes: dataplane.routes.size,
  });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal });
    plan.etcd?.close(); // the lease stays, as flanneld leaves it, so a restart gets the subnet back
    await api.close();
    dataplane.close(); // the TUN, and the kernel routes through it, go with its descriptor
    if (bridgeCreated && config.bridge && !(await removeBridgeIfUnused(config.bridge))) {
      log.info('bridge kept: containers are attached to it', { bridge: config.bridge });
    }
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

function openDataplane(config: LaunchConfig, plan: HostPlan, codec: ReturnType<HostPlan['backend']['codec']>, mtu: number): Dataplane {
  try {
    return new Dataplane({ tunName: config.tun, codec, listenAddress: config.listen, port: plan.port, localSubnet: plan.subnet, mtu });
  } catch (error) {
    const message = (error as Error).message;
    if (message.startsWith('open /dev/net/tun') || message.startsWith('TUNSETIFF')) {
      throw new StartError(`cannot open TUN ${config.tun}: ${message}`);
    }
    if (message.startsWith('bind')) throw new StartError(`cannot bind UDP ${config.listen}:${plan.port}: ${message}`);
    throw error;
  }
}
