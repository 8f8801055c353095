// Wiring and lifecycle of one tsoverlay host: start, signals, graceful stop.
import { ApiServer, type Handler, RawReply, readJsonBody } from './api/server.js';
import { createMetrics } from './api/metrics.js';
import { buildStatus } from './api/status.js';
import { formatApiAddress } from './config/apiAddress.js';
import type { LaunchConfig } from './config/launchConfig.js';
import { Dataplane, type Encapsulation } from './dataplane/dataplane.js';
import { HostSetupError } from './host/ipCommand.js';
import { configureBridge, configureTun, enableForwarding, findUnderlay, removeBridgeIfUnused, removeLink, resolvePublicIp } from './host/links.js';
import { configureLog, log } from './log.js';
import { cidrHost, formatCidr, formatIPv4 } from './net/ipv4.js';
import { Exposure } from './host/exposure.js';
import { LocalDns } from './dns/localDns.js';
import { formatMac } from './net/mac.js';
import { loadVtepMac } from './state/vtepMac.js';
import { EtcdError, EtcdUnavailable } from './subnet/etcd/etcdClient.js';
import { NetworkExhausted } from './subnet/etcdSubnets.js';
import { NetworkConfigError } from './subnet/networkConfig.js';
import { type HostPlan, planFromEtcd, planFromFlags } from './subnet/hostPlan.js';
import { planFromMesh } from './mesh/meshRuntime.js';
import { writeSubnetFiles } from './subnet/subnetEnv.js';

/** A start-up failure the user can fix; printed as one line. */
export class StartError extends Error {}

const USER_ERRORS = [HostSetupError, EtcdUnavailable, EtcdError, NetworkConfigError, NetworkExhausted];

export async function runDaemon(config: LaunchConfig): Promise<void> {
  configureLog(config.logLevel, config.logFormat);
  let plan: HostPlan;
  const apiRoutes: Record<string, Handler> = {};
  try {
    const vtepMac = await loadVtepMac(config.runDir);
    const publicIp = config.publicIp ?? (await resolvePublicIp(config.iface));
    const source = config.source;
    if (source.kind === 'static') {
      plan = planFromFlags(config, source, publicIp, vtepMac);
    } else if (source.kind === 'etcd') {
      plan = await planFromEtcd(config, source, publicIp, vtepMac);
    } else {
      const mesh = await planFromMesh(config, source, publicIp, vtepMac);
      plan = mesh.plan;
      apiRoutes['POST /connect'] = async (req) => {
        const { peer } = await readJsonBody<{ peer: string }>(req);
        mesh.connect(peer);
        return { ok: true };
      };
      apiRoutes['POST /forget'] = async (req) => {
        const { peer } = await readJsonBody<{ peer: string }>(req);
        return { ok: mesh.forget(peer) };
      };
    }
  } catch (error) {
    if (USER_ERRORS.some((E) => error instanceof E) || (error as Error).message.startsWith('cannot listen for peers')) {
      throw new StartError((error as Error).message);
    }
    throw error;
  }
  await start(config, plan, apiRoutes);
}

async function start(config: LaunchConfig, plan: HostPlan, apiRoutes: Record<string, Handler> = {}): Promise<void> {
  const underlay = await findUnderlay(plan.publicIp);
  const sealed = config.password !== null;
  const mtu = config.mtu ?? underlay.mtu - plan.backend.overhead(sealed);
  await writeSubnetFiles(config.runDir, { network: plan.network, subnet: plan.subnet, mtu, ipMasq: false });

  const encap = plan.backend.encapsulation({ vni: plan.vni, vtepMac: plan.vtepMac, underlayMtu: underlay.mtu, sealed, rekeyAfter: config.rekeyAfter ?? undefined });
  const dataplane = openDataplane(config, plan, encap, mtu);
  let bridgeCreated = false;
  let dns: LocalDns | null = null;
  const status = () => ({ ...buildStatus(plan, dataplane, mtu), dns: dns?.status() ?? null });
  const metrics = createMetrics({ status, peerCounters: () => dataplane.peerCounters });
  const api = new ApiServer(config.api)
    .on('GET /status', status)
    .on('GET /metrics', async () => new RawReply(metrics.contentType, await metrics.metrics()))
    .on('POST /stop', () => {
      setImmediate(() => process.kill(process.pid, 'SIGTERM'));
      return { stopping: true };
    });
  for (const [route, handler] of Object.entries(apiRoutes)) api.on(route, handler);
  try {
    await configureTun(dataplane.tun.name, mtu, plan.subnet, plan.network);
    if (config.bridge) bridgeCreated = await configureBridge(config.bridge, mtu, plan.subnet);
    await enableForwarding();
    await plan.routes.attach(dataplane, plan.port);
    const exposure = new Exposure(dataplane.tun.name, plan.subnet, new Set([formatIPv4(cidrHost(plan.subnet, 1))]));
    api.on('POST /expose', async (req) => {
      const { ip: address, name } = await readJsonBody<{ ip?: string; name?: string }>(req);
      const exposed = await exposure.expose(address ?? null);
      if (name && dns) await dns.add(exposed, name);
      return { ip: exposed };
    });
    api.on('POST /hide', async (req) => {
      const { ip: address } = await readJsonBody<{ ip: string }>(req);
      const hidden = await exposure.hide(address);
      if (hidden && dns) await dns.removeAddress(address);
      return { ok: hidden };
    });
    if (config.dns) {
      // Containers behind the bridge use its address; without a bridge, the TUN's address is local and routable.
      const host = formatIPv4(cidrHost(plan.subnet, config.bridge ? 1 : 0));
      dns = await LocalDns.start(config.dns, config.dns.listen ?? { host, port: 53 }, plan.routes, config.runDir);
      dns.routes(api);
    }
    await api.listen();
  } catch (error) {
    await dns?.close();
    await plan.routes.close();
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
    // Every step runs whatever the one before did: what this daemon created must go.
    const step = async (what: string, fn: () => unknown) => {
      try {
        await fn();
      } catch (error) {
        log.warn(`stopping: ${what} failed`, { error: (error as Error).message });
      }
    };
    await step('leaving the mesh / etcd', () => plan.routes.close());
    await step('closing DNS', () => dns?.close());
    await step('closing the API', () => api.close());
    await step('closing the TUN', () => dataplane.close()); // the kernel removes its routes with it
    if (bridgeCreated && config.bridge) {
      const bridge = config.bridge;
      await step('removing the bridge', async () => {
        if (!(await removeBridgeIfUnused(bridge))) log.info('bridge kept: containers are attached to it', { bridge });
      });
    }
    log.info('stopped');
    process.exit(0);
  };
  // A failure in the control plane is logged, not a reason to take the network down.
  process.on('unhandledRejection', (error) => log.error('unhandled failure', { error: error instanceof Error ? error.stack : String(error) }));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

function openDataplane(config: LaunchConfig, plan: HostPlan, encap: Encapsulation, mtu: number): Dataplane {
  try {
    return new Dataplane({ tunName: config.tun, encap, listenAddress: config.listen, port: plan.port, localSubnet: plan.subnet, mtu, relay: plan.relay, offload: config.offload });
  } catch (error) {
    const message = (error as Error).message;
    if (message.startsWith('open /dev/net/tun') || message.startsWith('TUNSETIFF')) {
      throw new StartError(`cannot open TUN ${config.tun}: ${message}`);
    }
    if (message.startsWith('bind')) throw new StartError(`cannot bind UDP ${config.listen}:${plan.port}: ${message}`);
    throw error;
  }
}
