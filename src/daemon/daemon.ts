// Lifecycle of one tsoverlay host: plan (by mode), start, signals, graceful stop.
import type { Status } from '../api/status.js';
import type { LaunchConfig } from '../config/launchConfig.js';
import { openDataplane } from '../dataplane/openDataplane.js';
import { UserError } from '../errors.js';
import { Exposure } from '../host/exposure.js';
import { IpMasq } from '../host/ipMasq.js';
import { configureBridge, configureTun, enableForwarding, findUnderlay, removeBridgeIfUnused, removeLink, resolvePublicIp, peersUnderlayMtu } from '../host/links.js';
import { configureLog, log } from '../log.js';
import { cidrHost, formatCidr, formatIPv4 } from '../net/ipv4.js';
import { formatMac } from '../net/mac.js';
import { removeDaemonInfo, writeDaemonInfo } from '../state/daemonInfo.js';
import { loadVtepMac } from '../state/vtepMac.js';
import { writeSubnetFiles } from '../subnet/subnetEnv.js';
import { formatApiAddress } from '../config/apiAddress.js';
import { buildApi } from './apiRoutes.js';
import { DockerIntegration } from './dockerIntegration.js';
import { PluginState } from '../docker/pluginState.js';
import { handOver } from './handover.js';
import { startSuccessor } from './successor.js';
import { notifySystemd } from './systemdNotify.js';
import { checkStateFiles, type Expected, HANDOVER_SIGNAL, type Predecessor, takeOver, unlock } from './takeover.js';
import { planFromEtcd } from './etcdMode.js';
import type { HostPlan, ModeEvents } from './hostPlan.js';
import type { Dataplane } from '../dataplane/dataplane.js';
import { LocalDns } from './localDns.js';
import { planFromMesh } from './meshMode.js';
import { planReload, type ReloadPlan } from './reloadPlan.js';
import { planFromFlags } from './staticMode.js';
import { buildStatus } from './statusDocument.js';

/** An IPv6 header's 40 bytes against IPv4's 20. */
const IPV6_EXTRA = 20;

/** A start-up failure the user can fix; printed as one line. */
export class StartError extends UserError {}

type Stop = (why: string, exitCode: number) => Promise<void>;

const STOP_SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];
/** Set once the daemon holds what a stop must undo (its data path is open). */
let owning = false;

/**
 * Runs the daemon with `config`; `load` reads the launch options again for a
 * reload (the --config file, then the command line).
 */
export async function runDaemon(config: LaunchConfig, load: () => LaunchConfig = () => config): Promise<void> {
  configureLog(config.logLevel, config.logFormat);
  /** Set once the daemon is up: a fatal event before that has nothing to undo. */
  let stop: Stop | null = null;
  /**
   * A stop asked for while starting: the API may answer (a caller may see us
   * up) before the handlers below are set, and the signal's default action
   * would leave the persistent TUN behind. Once the data path is open it
   * waits for the start to end; before, nothing is ours yet and the signal
   * acts as it would.
   */
  let stopAsked: NodeJS.Signals | null = null;
  // One listener for the daemon's whole life: replacing it could drop a signal already on its way.
  for (const signal of STOP_SIGNALS) {
    process.on(signal, () => {
      if (stop) void stop(signal, 0);
      else if (owning) stopAsked ??= signal;
      else {
        process.removeAllListeners(signal);
        process.kill(process.pid, signal);
      }
    });
  }
  const events: ModeEvents = {
    fatal(reason) {
      log.error(reason);
      if (stop) void stop('fatal', 1);
      else process.exit(1);
    },
  };
  const predecessor = config.takeover
    ? await takeOver(
        config.runDir,
        () => {
          checkStateFiles(config.runDir, ['ipam.json', 'dns.json', 'docker-plugin.json', 'docker-names.json']);
          if (config.dockerPlugin !== null) PluginState.load(config.runDir);
        },
        expectedOf(config),
      )
    : null;
  const vtepMac = await loadVtepMac(config.runDir);
  const source = config.source;
  // Mesh peers know each other by the addresses their connections come from; the other modes write theirs down.
  const given = config.publicIp ?? (config.iface !== null ? await resolvePublicIp(config.iface) : null);
  const publicIp = source.kind === 'mesh' ? given : given ?? (await resolvePublicIp(null));
  // Looked up while the mode plans (a restarted daemon forwards only after both).
  const linkMtu = publicIp !== null ? findUnderlay(publicIp).then((u) => u.mtu) : meshUnderlayMtu(config);
  linkMtu.catch(() => {}); // awaited, and reported, in start
  let plan: HostPlan;
  try {
    plan =
      source.kind === 'static' ? planFromFlags(config, source, publicIp!, vtepMac)
      : source.kind === 'etcd' ? await planFromEtcd(config, source, publicIp!, vtepMac, events)
      : await planFromMesh(config, source, publicIp, vtepMac, events, predecessor !== null);
  } catch (error) {
    predecessor?.refuse(`the successor could not plan: ${(error as Error).message}`);
    throw error;
  }
  const running = await start(config, plan, load, predecessor, linkMtu);
  stop = running.stop;
  // A failure in the control plane is logged, not a reason to take the network down.
  process.on('unhandledRejection', (error) => log.error('unhandled failure', { error: error instanceof Error ? error.stack : String(error) }));
  if (stopAsked) void stop(stopAsked, 0);
  // A refused reload is logged where it is refused; nothing more to do here.
  process.on('SIGHUP', () => void running.reload().catch(() => {}));
  process.on(HANDOVER_SIGNAL, () => running.handOver());
}

export interface ReloadResult {
  /** What changed, in words (nothing: an empty list). */
  applied: string[];
  /** Options that differ but cannot change while running: left as they were. */
  needRestart: string[];
}

/** Brings the host up; returns how to take it down again, and how to reload it. */
async function start(
  config: LaunchConfig, plan: HostPlan, load: () => LaunchConfig, predecessor: Predecessor | null, underlayLinkMtu: Promise<number>,
): Promise<{ stop: Stop; reload: () => Promise<ReloadResult>; handOver: () => void }> {
  /** The options in effect: the launch's, with what reloads changed. */
  let current = config;
  const linkMtu = await underlayLinkMtu;
  // Over an IPv6 underlay the outer header is 20 bytes longer: the backends count IPv4's, so the link is taken as that much smaller.
  const underlayMtu = config.listen.includes(':') ? linkMtu - IPV6_EXTRA : linkMtu;
  const sealed = config.password !== null;
  const mtu = config.mtu ?? underlayMtu - plan.backend.overhead(sealed);
  // Read by docker and the CNI plugin, which wait for `ready`: not on the way to forwarding.
  const subnetFiles = writeSubnetFiles(config.runDir, { network: plan.network, subnet: plan.subnet, network6: plan.ipv6?.network, subnet6: plan.ipv6?.subnet, mtu, ipMasq: config.ipMasq });
  subnetFiles.catch(() => {}); // awaited, and reported, with the host setup

  const encap = plan.backend.encapsulation({ vni: plan.vni, vtepMac: plan.vtepMac, underlayMtu, sealed, rekeyAfter: config.rekeyAfter ?? undefined });
  const offer = { ...expectedOf(config), port: plan.port, backend: plan.backend.name, sealed };
  if (predecessor) {
    const o = predecessor.offer;
    // Known only once planned (etcd mode's backend and port come from etcd).
    if (o.port !== offer.port || o.backend !== offer.backend || o.sealed !== offer.sealed) {
      const why = `it runs ${o.backend} on port ${o.port}${o.sealed ? ' sealed' : ''}, this one ${offer.backend} on ${offer.port}${offer.sealed ? ' sealed' : ''}; restart it instead`;
      predecessor.refuse(why);
      throw new StartError(`--takeover refused, the running daemon (pid ${o.pid}) goes on: ${why}`);
    }
  }
  const handed = predecessor ? { tun: predecessor.tun, udp: predecessor.udp } : undefined;
  const { dataplane, tunAdopted } = openDataplane({ tunName: config.tun, listenAddress: config.listen, port: plan.port, offload: config.offload, encap, localSubnet: plan.subnet, localSubnet6: plan.ipv6?.subnet, mtu, relay: plan.relay, handed });
  owning = true;
  // Left by a run that crashed: its address and routes kept traffic routed meanwhile.
  if (tunAdopted) log.info('adopted the TUN left by the last run', { tun: dataplane.tunName });
  let bridgeCreated = false;
  let dns: LocalDns | null = null;
  let docker: DockerIntegration | null = null;
  const masq = config.ipMasq ? new IpMasq(plan.network, plan.subnet, (message, fields) => log.warn(message, fields), plan.ipv6) : null;
  const status = (): Status => buildStatus(plan, dataplane.snapshot(), mtu, dns?.status() ?? null, masq?.status() ?? null, docker?.status() ?? null);
  const exposure = new Exposure(dataplane.tunName, plan.subnet, new Set([formatIPv4(cidrHost(plan.subnet, 1))]));
  const api = buildApi({ address: config.api, plan, status, exposure, dns: () => dns, stop: () => process.kill(process.pid, 'SIGTERM'), reload: () => reload(), restart: startSuccessor });

  /** Re-reads the launch options and applies what may change live; a bad file changes nothing. */
  async function reload(): Promise<ReloadResult> {
    let next: LaunchConfig;
    try {
      next = load();
    } catch (error) {
      log.error('reload refused: the options do not parse; nothing changed', { error: (error as Error).message });
      throw error;
    }
    const change = planReload(current, next);
    const applied: string[] = [];
    if (change.logLevel) {
      configureLog(next.logLevel, current.logFormat);
      applied.push(`log level ${next.logLevel}`);
    }
    applied.push(...(plan.routes.reload?.(next, change) ?? []));
    if (dns) {
      dns.rereadUpstreams();
      applied.push('DNS upstreams re-read');
    }
    current = withLive(current, next, change);
    if (change.fixed.length > 0) log.warn('reload: these options cannot change while running; restart to apply them', { options: change.fixed });
    log.info('reloaded', { applied });
    return { applied, needRestart: change.fixed };
  }
  try {
    // After a crash the TUN kept its address and routes, the bridge and the rules are there:
    // forwarding need not wait for the host setup to confirm them.
    const early = tunAdopted && predecessor === null;
    if (early) {
      await plan.routes.attach(dataplane, plan.port);
      dataplane.start();
    }
    // Side by side: each is a few `ip`/`nft` runs.
    const bridge = config.bridge;
    const setup = await Promise.allSettled([
      configureTun(dataplane.tunName, mtu, plan.subnet, plan.network, plan.ipv6),
      bridge ? configureBridge(bridge, mtu, plan.subnet, plan.ipv6?.subnet ?? null).then((created) => (bridgeCreated = created)) : null,
      enableForwarding(plan.ipv6 !== null),
      masq?.install(),
      subnetFiles,
    ]);
    const failed = setup.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    if (!early) await plan.routes.attach(dataplane, plan.port);
    if (predecessor) await succeed(predecessor, plan, dataplane);
    // Forwarding needs no more than the routes: DNS, Docker and the API come up around it.
    else if (!early) dataplane.start();
    if (config.dns) {
      // Containers behind the bridge use its address; without a bridge, the TUN's address is local and routable.
      const host = formatIPv4(cidrHost(plan.subnet, config.bridge ? 1 : 0));
      dns = await LocalDns.start(config.dns, config.dns.listen ?? { host, port: 53 }, plan.routes, config.runDir);
      dns.routes(api);
    }
    docker = await DockerIntegration.start(config, plan.subnet, plan.ipv6?.subnet ?? null, mtu, dns);
    await api.listen();
  } catch (error) {
    // Not ours to undo: the running daemon goes on with all of it.
    if (predecessor && !predecessor.wasTaken) {
      predecessor.refuse(`the successor failed: ${(error as Error).message}`);
      throw error instanceof UserError ? error : new StartError((error as Error).message);
    }
    await docker?.close();
    await dns?.close();
    await plan.routes.close();
    await masq?.remove();
    dataplane.close();
    if (bridgeCreated && config.bridge) await removeLink(config.bridge);
    if (error instanceof UserError) throw error;
    throw new StartError((error as Error).message);
  }
  masq?.keep();
  await writeDaemonInfo(config.runDir, {
    pid: process.pid,
    api: formatApiAddress(config.api),
    bridge: config.bridge,
    dns: dns && config.dns ? { address: dns.status().listen, domain: config.dns.domain } : null,
  });
  unlock(config.runDir);
  log.info('ready', {
    mode: plan.mode,
    backend: plan.backend.name,
    subnet: formatCidr(plan.subnet),
    tun: dataplane.tunName,
    tunAdopted,
    mtu,
    port: dataplane.port,
    vtepMac: formatMac(plan.vtepMac),
    api: formatApiAddress(config.api),
    routes: dataplane.routeCount,
    // Since the process started: what a restart costs before forwarding can resume.
    startupMs: Math.round(performance.now()),
  });
  notifySystemd({ READY: 1, MAINPID: process.pid });

  let stopping = false;
  const stopDaemon: Stop = async (why, exitCode) => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal: why });
    notifySystemd({ STOPPING: 1 });
    // First: from here on the CNI plugin must not count on this daemon.
    removeDaemonInfo(config.runDir);
    // Every step runs whatever the one before did: what this daemon created must go.
    const step = async (what: string, fn: () => unknown) => {
      try {
        await fn();
      } catch (error) {
        log.warn(`stopping: ${what} failed`, { error: (error as Error).message });
      }
    };
    // Docker's calls fail from here on, and dockerd retries them: nothing is half done.
    await step('closing the Docker plugin', () => docker?.close());
    await step('leaving the mesh / etcd', () => plan.routes.close());
    await step('closing DNS', () => dns?.close());
    await step('closing the API', () => api.close());
    await step('removing the masquerade rules', () => masq?.remove());
    await step('closing the TUN', () => dataplane.close()); // the kernel removes its routes with it
    if (bridgeCreated && config.bridge) {
      const bridge = config.bridge;
      await step('removing the bridge', async () => {
        if (!(await removeBridgeIfUnused(bridge))) log.info('bridge kept: containers are attached to it', { bridge });
      });
    }
    log.info('stopped');
    process.exit(exitCode);
  };
  /** A successor asks to take over (daemon/takeover.ts): everything stays as it is for it; this process just goes. */
  const handOverNow = () => {
    if (stopping) return;
    const exit = (): never => {
      stopping = true;
      process.exit(0);
    };
    if (handOver({ runDir: config.runDir, offer, dataplane, routes: plan.routes, exit }) === 'stay') return;
    // A successor that opened no socket (an older build) adopts what we leave.
    log.info('handing over to a successor: the TUN, its routes, the bridge and the rules stay');
    plan.routes.handOver?.();
    exit();
  };
  return { stop: stopDaemon, reload, handOver: handOverNow };
}

/**
 * The last step of a takeover: the running daemon stops and hands over its
 * state; we go on with it and start forwarding; then it may go. Until
 * `taken`, a failure leaves it going on.
 */
async function succeed(predecessor: Predecessor, plan: HostPlan, dataplane: Dataplane): Promise<void> {
  const state = predecessor.takeState();
  if (state.mesh && !plan.routes.resume) throw new StartError('--takeover: a mesh handed over to a daemon not in mesh mode');
  const rest = state.mesh ? plan.routes.resume!(state.mesh, state.fds) : null;
  dataplane.resumeCrypto(state.crypto);
  dataplane.start();
  await predecessor.taken();
  await rest?.();
}

/** What a takeover's two sides must have been started with alike (the rest is known once planned). */
function expectedOf(config: LaunchConfig): Expected {
  return { mode: config.source.kind, tun: config.tun, offload: config.offload, listen: config.listen };
}

/** Mesh mode without a public IP: the MTU of the interfaces towards the named peers. */
function meshUnderlayMtu(config: LaunchConfig): Promise<number> {
  const peers = config.source.kind === 'mesh' ? config.source.peers.map((p) => p.address) : [];
  // Not our own devices: a TUN left by a crash holds an address too, and its MTU is already ours.
  return peersUnderlayMtu(peers, [config.tun, ...(config.bridge ? [config.bridge] : [])]);
}

/** The options in effect after a reload: the old ones, with what it changed. */
function withLive(current: LaunchConfig, next: LaunchConfig, change: ReloadPlan): LaunchConfig {
  const [a, b] = [current.source, next.source];
  const source = a.kind === 'mesh' && b.kind === 'mesh' && change.peers ? { ...a, peers: b.peers }
    : a.kind === 'static' && b.kind === 'static' && change.routes ? { ...a, routes: b.routes }
    : a;
  return { ...current, logLevel: next.logLevel, password: change.password ? next.password : current.password, source };
}
