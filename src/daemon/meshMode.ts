// Mesh mode wired up: the TCP mesh, the MeshNode, persistence, the wait for a
// block, the routes and keys it hands the data plane, and connect/forget.
import { hostname, networkInterfaces } from 'node:os';
import { readJsonBody, requiredString } from '../api/server.js';
import type { LaunchConfig, MeshSource } from '../config/launchConfig.js';
import type { DirectionKeys } from '../crypto/sessionKeys.js';
import { VXLAN_DEFAULT_VNI } from '../dataplane/codecs/vxlanCodec.js';
import type { Dataplane } from '../dataplane/dataplane.js';
import { endpointKey, type HopAddress } from '../dataplane/nextHop.js';
import type { RecordStore } from '../dns/recordStore.js';
import { blockCidr, blockCidr6 } from '../ipam/blocks.js';
import type { PersistedIpam } from '../ipam/persistedIpam.js';
import { log } from '../log.js';
import { MAX_VERSION, MIN_VERSION, PROTOCOL } from '../mesh/handshake.js';
import { MeshNode } from '../mesh/meshNode.js';
import { meshStatus } from '../mesh/meshStatus.js';
import { CONTROL_PORT } from '../mesh/meshOptions.js';
import { TcpMesh } from '../mesh/tcpMesh.js';
import { UdpPaths } from '../mesh/udpPaths.js';
import type { AnyCidr } from '../net/cidr.js';
import { parseHostPort } from '../net/hostPort.js';
import { formatCidr, parseCidr } from '../net/ipv4.js';
import { underlayHandle } from '../net/underlayAddress.js';
import { canonicalIPv6 } from '../net/ipv6.js';
import { type Cidr6, cidr6Covers, cidr6Overlaps, parseCidr6, type Stack6 } from '../net/ipv6Cidr.js';
import { formatMac, parseMac } from '../net/mac.js';
import { loadIpam, loadPeerName, saveIpam, saveIpamSync } from '../state/meshState.js';
import type { HostPlan, ModeEvents } from './hostPlan.js';

const TICK_MS = 500;

/**
 * `successor`: a takeover, with the predecessor's sockets to come (resume):
 * nothing is bound, dialled or probed until then.
 */
export async function planFromMesh(config: LaunchConfig, source: MeshSource, publicIp: string | null, vtepMac: Buffer, events: ModeEvents, successor = false): Promise<HostPlan> {
  const name = source.name ?? (await loadPeerName(config.runDir));
  const nickname = hostname();
  const space = { range: source.ipallocRange, blockLen: source.subnetLen };
  const space6 = source.ipallocRange6 ? { range: source.ipallocRange6, blockLen: source.subnetLen6 } : null;
  /** Our IPv6 block, once we have a block (dual stack). */
  let own6: Cidr6 | null = null;
  const persisted = usable(await loadIpam(config.runDir), space.blockLen - space.range.len);
  const dataPort = config.port ?? source.backend.defaultPort;

  let dataplane: Dataplane | null = null;
  /** Data keys agreed on each neighbour's control connection (password set). */
  const neighbourKeys = new Map<string, DirectionKeys>();
  const tcp = new TcpMesh({
    hello: { protocol: PROTOCOL, minVersion: MIN_VERSION, maxVersion: MAX_VERSION, name, nickname, backend: source.backend.name },
    // Dual stack when the data socket is: peers at IPv6 addresses (IPv4 ones arrive v4-mapped).
    listenAddress: config.listen.includes(':') ? '::' : '0.0.0.0',
    port: source.controlPort,
    tickMs: TICK_MS,
    connLimit: source.connLimit,
    password: config.password,
    log: (level, message, fields) => log[level](message, fields),
    keysChanged: (peer, keys) => {
      if (keys) neighbourKeys.set(peer, keys);
      else neighbourKeys.delete(peer);
      routesChanged();
    },
    links: {
      up: (peer, remoteIp, outbound) => paths.up(peer, remoteIp, outbound),
      down: (peer) => paths.down(peer),
      message: (peer, message) => paths.message(peer, message),
    },
  });
  const paths: UdpPaths = new UdpPaths(name, {
    sendMessage: (peer, message) => tcp.send(peer, message),
    sendUnicast: (peer, body) => node.sendUnicast(peer, body),
    sendProbe: (probe, addr, port, ttl) => dataplane?.sendProbe(probe, addr, port, ttl),
    peerInfo: (peer) => {
      const info = node.topology.peers.get(peer);
      return info ? { dataPort: info.dataPort, publicIp: info.publicIp, udpSeenAt: info.udpSeenAt ?? null } : null;
    },
    localAddrs,
    dataPort,
    password: config.password,
    now: Date.now,
    endpointsChanged: () => routesChanged(),
    natChanged: (udpSeenAt, nat) => {
      log.info('our UDP endpoint as neighbours see it', { udpSeenAt, nat });
      node.setUdpSeen(udpSeenAt, nat);
    },
    log: (level, message, fields) => log[level](message, fields),
  });
  /** While a takeover's state goes in: the routes follow once, at its end. */
  let resuming = false;
  const routesChanged = () => {
    if (dataplane && !resuming) applyRoutes(node, paths, dataplane, neighbourKeys, space6 && own6 ? { network: space6.range, subnet: own6 } : null);
  };
  if (!successor) await tcp.listen();

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
    { space, space6, batchMs: 5, settleMs: 1500, requestTimeoutMs: 2000, reclaimAfterMs: source.reclaimAfterSeconds * 1000, alone: source.peers.length === 0 && !persisted?.peers?.length },
    {
      routesChanged: () => {
        routesChanged();
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
        events.fatal(`lost our block: ${reason}; exiting so that a restart takes a new one`);
      },
      log: (level, message, fields) => log[level](message, fields),
      punch: (from, body) => paths.punchMessage(from, body),
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

  let probing: NodeJS.Timeout | null = null;
  const startProbing = () => {
    probing = setInterval(() => {
      paths.punchTo(punchCandidates(node));
      paths.tick();
    }, TICK_MS);
  };
  /** The peers named at launch, or at the last reload. */
  let named = source.peers;
  if (!successor) {
    tcp.start(node);
    startProbing();
    for (const peer of named) tcp.addTarget(peer.address, peer.port);
    // Peers known before a restart are kept like named ones: the mesh may be slow to answer.
    for (const known of persisted?.peers ?? []) {
      try {
        const { address, port } = parseHostPort(known, CONTROL_PORT);
        tcp.addTarget(address, port);
      } catch {
        log.warn('ignoring a saved peer address that does not parse', { peer: known });
      }
    }
    log.info('mesh started', { name, nickname, controlPort: source.controlPort, peers: source.peers.map((p) => `${p.address}:${p.port}`) });
  }

  if (node.block === null) log.info('waiting for a block of the allocation range', { range: formatCidr(space.range) });
  const block = node.block ?? (await blockReady);
  own6 = space6 && blockCidr6(space6, block);

  return {
    mode: 'mesh',
    backend: source.backend,
    port: dataPort,
    vni: config.vni ?? VXLAN_DEFAULT_VNI,
    network: space.range,
    subnet: blockCidr(space, block),
    ipv6: space6 && own6 ? { network: space6.range, subnet: own6 } : null,
    publicIp,
    vtepMac,
    relay: true,
    routes: {
      async attach(dp) {
        dataplane = dp;
        dp.onProbe(paths.receive);
        routesChanged();
        paths.socketReady();
      },
      async close() {
        if (probing) clearInterval(probing);
        node.depart();
        const state = node.persisted();
        if (state) await saveIpam(config.runDir, state);
        await new Promise((r) => setTimeout(r, 100)); // let the departure reach the neighbours
        await tcp.close();
      },
      handOver() {
        // No departure: the successor is this peer, back within a moment.
        const state = node.persisted();
        if (state) saveIpamSync(config.runDir, state);
      },
      freeze() {
        if (probing) clearInterval(probing);
        probing = null;
        const nodeState = node.handover();
        const { state, fds } = tcp.freeze();
        return { mesh: { node: nodeState, tcp: state, paths: paths.handover() }, fds };
      },
      thaw() {
        tcp.thaw();
        startProbing();
      },
      resume(mesh, fds) {
        resuming = true;
        try {
          paths.resume(mesh.paths);
          tcp.resume(mesh.tcp, fds.slice(1), node);
          node.resume(mesh.node, new Set(mesh.tcp.connections.map((c) => c.peer.name)));
        } finally {
          resuming = false;
        }
        routesChanged();
        return async () => {
          await tcp.listenOn(fds[0]);
          // A named peer the predecessor did not know of (the options changed with the build) is dialled too.
          for (const peer of named) tcp.addTarget(peer.address, peer.port);
          tcp.start(node);
          startProbing();
          log.info('mesh taken over', { name, neighbours: mesh.tcp.connections.length });
        };
      },
      status: () => ({ mesh: meshStatus(node, tcp, paths, space.range, space.blockLen, source.controlPort) }),
      reload(next, plan) {
        const changed: string[] = [];
        if (plan.password && next.password) {
          tcp.setPassword(next.password);
          changed.push('password (for connections made from now on)');
        }
        if (plan.peers && next.source.kind === 'mesh') {
          const key = (p: { address: string; port: number }) => `${p.address}:${p.port}`;
          const wanted = new Set(next.source.peers.map(key));
          for (const p of named) if (!wanted.has(key(p))) tcp.forgetTarget(p.address, p.port);
          for (const p of next.source.peers) tcp.addTarget(p.address, p.port);
          named = next.source.peers;
          changed.push(`peers: ${[...wanted].join(' ') || 'none'}`);
        }
        return changed;
      },
      attachDns(store) {
        dnsStore = store;
        store.setOthers(node.peerDns());
        return { published: () => node.setDns(store.ownRecords()) };
      },
    },
    api: {
      'POST /connect': async (req) => {
        const { address, port } = parseHostPort(requiredString(await readJsonBody(req), 'peer'), CONTROL_PORT);
        tcp.addTarget(address, port);
        return { ok: true };
      },
      'POST /forget': async (req) => {
        const { address, port } = parseHostPort(requiredString(await readJsonBody(req), 'peer'), CONTROL_PORT);
        return { ok: tcp.forgetTarget(address, port) };
      },
    },
  };
}

/**
 * A peer's IPv6 block as a route, if it is one: inside our IPv6 network and
 * clear of our own block. A peer configured with another --ipalloc-range6
 * gets no IPv6 route, rather than one over ours.
 */
function peerBlock6(subnet6: string | undefined, v6: Stack6 | null): Cidr6 | null {
  if (!v6 || subnet6 === undefined) return null;
  const cidr = parseCidr6(subnet6);
  return cidr6Covers(v6.network, cidr) && !cidr6Overlaps(cidr, v6.subnet) ? cidr : null;
}

function applyRoutes(node: MeshNode, paths: UdpPaths, dataplane: Dataplane, neighbourKeys: ReadonlyMap<string, DirectionKeys>, v6: Stack6 | null): void {
  const routes: { cidr: AnyCidr; hop: HopAddress }[] = [];
  // Sealed datagrams are keyed by the endpoint they come from: the one its probes come from.
  const keys = new Map<number, DirectionKeys>();
  // Datagrams come from neighbours (a relay's from the relay): taken from any address a peer is known by.
  const accepted = new Set<number>();
  const own = node.info.subnet;
  const book = node.addressBook();
  for (const peer of node.reachablePeers()) {
    for (const address of book.get(peer.name) ?? []) accepted.add(underlayHandle(address));
    if (!peer.subnet || peer.subnet === own || peer.departed) continue;
    // A punched path goes straight to the peer; else the next hop towards it.
    const punched = paths.punched(peer.name);
    const via = punched ? peer : node.topology.peers.get(node.topology.nextHops.get(peer.name)!);
    const endpoint = punched?.endpoint ?? (via ? paths.endpoint(via.name) : null);
    if (!via || !endpoint) continue;
    if (punched) accepted.add(endpoint.addr);
    const hop = { addr: endpoint.addr, port: endpoint.port, vtepMac: via.vtepMac ? parseMac(via.vtepMac) : null };
    routes.push({ cidr: parseCidr(peer.subnet), hop });
    const block6 = peerBlock6(peer.subnet6, v6);
    if (block6) routes.push({ cidr: block6, hop });
    if (punched?.keys) keys.set(endpointKey(endpoint.addr, endpoint.port), punched.keys);
  }
  for (const name of node.neighbourList()) {
    const endpoint = paths.endpoint(name);
    const connectionIp = paths.connectionIp(name);
    if (endpoint) accepted.add(endpoint.addr);
    if (connectionIp) accepted.add(underlayHandle(connectionIp));
  }
  dataplane.replaceRoutes(routes, accepted);
  for (const [peer, k] of neighbourKeys) {
    const endpoint = paths.endpoint(peer);
    if (endpoint) keys.set(endpointKey(endpoint.addr, endpoint.port), k);
  }
  dataplane.replaceKeys(keys);
}

/** Peers reached only through relays, that a direct UDP path may be punched to: those whose UDP endpoint their neighbours have seen. */
function punchCandidates(node: MeshNode): string[] {
  const neighbours = new Set(node.neighbourList());
  return node
    .reachablePeers()
    .filter((p) => p.name !== node.name && !neighbours.has(p.name) && !p.departed && p.udpSeenAt !== undefined)
    .map((p) => p.name);
}

/** This host's addresses: an endpoint a neighbour sees us at is untranslated if it is one of them. */
function localAddrs(): Set<string> {
  return new Set(Object.values(networkInterfaces()).flatMap((list) => (list ?? []).filter((a) => !a.address.includes('%')).map((a) => (a.family === 'IPv6' ? canonicalIPv6(a.address) : a.address))));
}

/** A saved ring is used only if it was made for the same number of blocks. */
function usable(saved: PersistedIpam | null, lenDifference: number): PersistedIpam | null {
  if (!saved || saved.ring?.blocks !== 2 ** lenDifference) return null;
  return saved;
}
