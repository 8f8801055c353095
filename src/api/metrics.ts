// Prometheus metrics (/metrics), read from the daemon's counters at scrape
// time: nothing on the packet path but the plain counters it already keeps.
import { Counter, Gauge, Registry } from 'prom-client';
import { dropReasons } from '../dataplane/counters.js';
import type { Status } from './status.js';

/** A counter whose value is read from elsewhere: set to the current total at each scrape. */
function readCounter(registry: Registry, name: string, help: string, labelNames: string[], read: (set: (labels: Record<string, string>, value: number) => void) => void): void {
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      read((labels, value) => this.inc(labels, value));
    },
  });
}

/** Every metric is read from the status document at scrape time. */
export function createMetrics(source: { status(): Status }): Registry {
  const registry = new Registry();
  // One document per scrape, shared by every metric: building it reads /proc
  // (the kernel's drop counts), and a scrape asks each metric in one turn.
  let scraped: Status | null = null;
  const status = (): Status => {
    if (scraped === null) {
      scraped = source.status();
      setImmediate(() => (scraped = null));
    }
    return scraped;
  };
  readCounter(registry, 'tsoverlay_packets_total', 'Inner packets: tx (TUN to peers), rx (peers to TUN), relayed (peer to peer).', ['direction', 'backend'], (set) => {
    const s = status();
    set({ direction: 'tx', backend: s.backend }, s.counters.tx.packets);
    set({ direction: 'rx', backend: s.backend }, s.counters.rx.packets);
    set({ direction: 'relayed', backend: s.backend }, s.counters.relayed);
  });
  readCounter(registry, 'tsoverlay_bytes_total', 'Inner bytes, by direction.', ['direction', 'backend'], (set) => {
    const s = status();
    set({ direction: 'tx', backend: s.backend }, s.counters.tx.bytes);
    set({ direction: 'rx', backend: s.backend }, s.counters.rx.bytes);
  });
  readCounter(registry, 'tsoverlay_batches_total', 'System-call batches (packets_total / batches_total is the mean batch size).', ['direction'], (set) => {
    const s = status();
    set({ direction: 'tx' }, s.counters.tx.batches);
    set({ direction: 'rx' }, s.counters.rx.batches);
  });
  readCounter(registry, 'tsoverlay_drops_total', 'Packets dropped, by reason.', ['reason'], (set) => {
    const drops = status().counters.drops;
    for (const reason of dropReasons) set({ reason }, drops[reason]);
  });
  readCounter(registry, 'tsoverlay_tun_queue_drops_total', 'Packets the kernel dropped at the full TUN queue before the daemon read them.', [], (set) => {
    const drops = status().tunQueueDrops;
    if (drops !== null) set({}, drops);
  });
  readCounter(registry, 'tsoverlay_data_socket_drops_total', "Datagrams the kernel dropped at the data socket's full receive buffer before the daemon read them (a GRO batch counts once).", [], (set) => {
    const drops = status().dataSocketDrops;
    if (drops !== null) set({}, drops);
  });
  readCounter(registry, 'tsoverlay_peer_packets_total', 'Inner packets exchanged with each peer (by underlay address).', ['peer', 'direction'], (set) => {
    for (const p of status().peerTraffic) {
      set({ peer: p.publicIp, direction: 'tx' }, p.txPackets);
      set({ peer: p.publicIp, direction: 'rx' }, p.rxPackets);
    }
  });
  readCounter(registry, 'tsoverlay_peer_bytes_total', 'Inner bytes exchanged with each peer.', ['peer', 'direction'], (set) => {
    for (const p of status().peerTraffic) {
      set({ peer: p.publicIp, direction: 'tx' }, p.txBytes);
      set({ peer: p.publicIp, direction: 'rx' }, p.rxBytes);
    }
  });
  readCounter(registry, 'tsoverlay_dns_queries_total', 'DNS queries, by outcome.', ['result'], (set) => {
    const dns = status().dns;
    if (dns) for (const [result, n] of Object.entries(dns.counters)) if (result !== 'queries') set({ result }, n);
  });
  readCounter(registry, 'tsoverlay_mesh_refused_connections_total', 'Control connections refused or dropped before the handshake completed.', [], (set) => {
    const mesh = status().mesh;
    if (mesh) set({}, mesh.refusedConnections);
  });
  new Gauge({
    name: 'tsoverlay_mesh_peers',
    help: 'Mesh peers known and reachable; established control connections.',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const mesh = status().mesh;
      if (!mesh) return;
      this.set({ state: 'known' }, mesh.peers.length);
      this.set({ state: 'reachable' }, mesh.peers.filter((p) => p.reachable).length);
      this.set({ state: 'connected' }, mesh.connections.length);
    },
  });
  new Gauge({
    name: 'tsoverlay_etcd_up',
    help: '1 while etcd is reachable (etcd mode).',
    registers: [registry],
    collect() {
      const etcd = status().etcd;
      if (etcd) this.set(etcd.state === 'connected' ? 1 : 0);
    },
  });
  return registry;
}
