// Mesh mode wired up: the TCP mesh, the MeshNode, persistence, the wait for a
// block, and the routes it hands the data plane.
import { hostname } from 'node:os';
import type { MeshSource, LaunchConfig } from '../config/launchConfig.js';
import type { DirectionKeys } from '../crypto/sessionKeys.js';
import type { Dataplane } from '../dataplane/dataplane.js';
import type { HopAddress } from '../dataplane/nextHop.js';
import { blockCidr } from '../ipam/blocks.js';
import { log } from '../log.js';
import { type Cidr, formatCidr, formatIPv4, parseCidr, parseIPv4 } from '../net/ipv4.js';
import { formatMac, parseMac } from '../net/mac.js';
import { loadIpam, loadPeerName, saveIpam, saveIpamSync } from '../state/meshState.js';
import type { HostPlan } from '../subnet/hostPlan.js';
import type { RecordStore } from '../dns/recordStore.js';
import { MAX_VERSION, MIN_VERSION, PROTOCOL } from './handshake.js';
import { MeshNode, type PersistedIpam } from './meshNode.js';
import type { MeshStatus } from './meshStatus.js';
import { TcpMesh } from './tcpMesh.js';

const TICK_MS = 500;

export interface MeshPlan {
  plan: HostPlan;
  connect(peer: string): void;
  forget(peer: string): boolean;
}

export async function planFromMesh(config: LaunchConfig, source: MeshSource, publicIp: string, vtepMac: Buffer): Promise<MeshPlan> {
  const name = source.name ?? (await loadPeerName(config.runDir));
  const nickname = hostname();
  const space = { range: source.ipallocRange, blockLen: source.subnetLen };
  const persisted = usable(await loadIpam(config.runDir), space.blockLen - space.range.len);
  const dataPort = config.port ?? source.backend.defaultPort;

  let dataplane: Dataplane | null = null;
  /** Data keys agreed on each neighbour's control connection (password set). */
  const neighbourKeys = new Map<string, DirectionKeys>();
  const tcp = new TcpMesh({
    hello: { protocol: PROTOCOL, minVersion: MIN_VERSION, maxVersion: MAX_VERSION, name, nickname, backend: source.backend.name, features: [] },
    listenAddress: '0.0.0.0',
    port: source.controlPort,
    tickMs: TICK_MS,
    connLimit: source.connLimit,
    password: config.password,
    log: (level, message, fields) => log[level](message, fields),
    keysChanged: (peer, keys) => {
      if (keys) neighbourKeys.set(peer, keys);
      else neighbourKeys.delete(peer);
      if (dataplane) applyRoutes(node, dataplane, neighbourKeys);
    },
  });
  await tcp.listen();

  let dnsStore: RecordStore | null = null;
  let saveQueued = false;
  let gotBlock: (block: number) => void = () => {};
  const blockReady = new Promise<number>((resolve) => (gotBlock = resolve));
  const node: MeshNode = new MeshNode(
    { name, nickname, publicIp, controlPort: source.controlPort, dataPort, vtepMac: source.backend.usesVtepMac ? formatMac(vtepMac) : null },
    persisted,
    tcp,
    Date.now,
    (fn, ms) => setTimeout(fn, ms),
    { space, batchMs: 5, settleMs: 1500, requestTimeoutMs: 2000, reclaimAfterMs: source.reclaimAfterSeconds * 1000, alone: source.peers.length === 0 && !persisted?.peers?.length },
    {
      routesChanged: () => {
        if (dataplane) applyRoutes(node, dataplane, neighbourKeys);
        dnsStore?.setOthers(node.peerDns());
        save();
      },
      blockAcquired: (block) => {
        log.info('got a block', { block: formatCidr(blockCidr(space, block)) });
        save();
        gotBlock(block);
      },
      blockLost: (reason) => {
        // Keep the ring that won, so the restart asks it for a block instead of reviving the old one.
        const state = node.persisted();
        if (state) saveIpamSync(config.runDir, state);
        log.error(`lost our block: ${reason}; exiting so that a restart takes a new one`);
        process.exit(1);
      },
      log: (level, message, fields) => log[level](message, fields),
    },
  );
  function save(): void {
    if (saveQueued) return;
    saveQueued = true;
    setTimeout(() => {
      saveQueued = false;
      const state = node.persisted();
      if (state) saveIpam(config.runDir, state).catch((e: Error) => log.warn('cannot save the mesh state', { error: e.message }));
    }, 200);
  }

  tcp.start(node);
  for (const peer of source.peers) tcp.addTarget(peer.address, peer.port);
  // Peers known before a restart are kept like named ones: the mesh may be slow to answer.
  for (const known of persisted?.peers ?? []) {
    const [address, port] = known.split(':');
    tcp.addTarget(address, Number(port));
  }
  log.info('mesh started', { name, nickname, controlPort: source.controlPort, peers: source.peers.map((p) => `${p.address}:${p.port}`) });

  if (node.block === null) log.info('waiting for a block of the allocation range', { range: formatCidr(space.range) });
  const block = node.block ?? (await blockReady);

  const plan: HostPlan = {
    mode: 'mesh',
    backend: source.backend,
    port: dataPort,
    vni: config.vni ?? 1,
    network: space.range,
    subnet: blockCidr(space, block),
    publicIp,
    vtepMac,
    relay: true,
    routes: {
      async attach(dp) {
        dataplane = dp;
        applyRoutes(node, dp, neighbourKeys);
      },
      async close() {
        node.depart();
        const state = node.persisted();
        if (state) await saveIpam(config.runDir, state);
        await new Promise((r) => setTimeout(r, 100)); // let the departure reach the neighbours
        await tcp.close();
      },
      status: () => ({ mesh: meshStatus(node, tcp, space.range, space.blockLen, source.controlPort) }),
      attachDns(store) {
        dnsStore = store;
        store.setOthers(node.peerDns());
        return { published: () => node.setDns(store.ownRecords()) };
      },
    },
  };
  return {
    plan,
    connect: (peer) => {
      const target = parsePeer(peer);
      tcp.addTarget(target.address, target.port);
    },
    forget: (peer) => {
      const target = parsePeer(peer);
      return tcp.forgetTarget(target.address, target.port);
    },
  };
}

/** `ip[:port]` */
export function parsePeer(text: string): { address: string; port: number } {
  const [address, portText] = text.split(':');
  parseIPv4(address);
  const port = portText === undefined ? 6783 : Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`bad peer port in ${JSON.stringify(text)}`);
  return { address, port };
}

function applyRoutes(node: MeshNode, dataplane: Dataplane, neighbourKeys: ReadonlyMap<string, DirectionKeys>): void {
  const routes: { cidr: Cidr; hop: HopAddress }[] = [];
  const addrs: number[] = [];
  const own = node.info.subnet;
  for (const peer of node.reachablePeers()) {
    addrs.push(parseIPv4(peer.publicIp));
    if (!peer.subnet || peer.subnet === own || peer.departed) continue;
    const via = node.topology.peers.get(node.topology.nextHops.get(peer.name)!);
    if (!via) continue;
    routes.push({ cidr: parseCidr(peer.subnet), hop: { addr: parseIPv4(via.publicIp), port: via.dataPort, vtepMac: via.vtepMac ? parseMac(via.vtepMac) : null } });
  }
  dataplane.replaceRoutes(routes, addrs);
  // Neighbours are keyed by the address their datagrams come from: the one in their info.
  const keys = new Map<number, DirectionKeys>();
  for (const [peer, k] of neighbourKeys) {
    const info = node.topology.peers.get(peer);
    if (info) keys.set(parseIPv4(info.publicIp), k);
  }
  dataplane.replaceKeys(keys);
}

/** A saved ring is used only if it was made for the same number of blocks. */
function usable(saved: PersistedIpam | null, lenDifference: number): PersistedIpam | null {
  if (!saved || saved.ring?.blocks !== 2 ** lenDifference) return null;
  return saved;
}

function meshStatus(node: MeshNode, tcp: TcpMesh, range: Cidr, blockLen: number, controlPort: number): MeshStatus {
  const t = node.topology;
  return {
    name: node.name,
    nickname: node.info.nickname,
    controlPort,
    peers: [...t.peers.values()]
      .filter((p) => p.name !== node.name)
      .map((p) => ({
        name: p.name,
        nickname: p.nickname,
        publicIp: p.publicIp,
        subnet: p.subnet,
        reachable: t.reachable(p.name),
        nextHop: t.nextHops.get(p.name) ?? null,
        hops: t.distances.get(p.name) ?? null,
        connections: p.connections,
        departed: p.departed,
      })),
    connections: tcp.connectionList(),
    targets: tcp.targetList().map(({ address, port, learned, state, peer, lastError }) => ({ address, port, learned, state, peer, lastError })),
    refusedConnections: tcp.refused,
    ipam: {
      range: formatCidr(range),
      blockLen,
      founder: node.ring?.founder ?? null,
      block: node.info.subnet,
      owned: node.ring ? node.ring.rangesOf(node.name).map((r) => `${formatIPv4(blockCidr({ range, blockLen }, r.start).addr)}+${r.end - r.start}`) : [],
    },
  };
}
