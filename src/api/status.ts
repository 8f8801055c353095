// The status document: what `GET /status` answers and `tsoverlay status`
// prints. Plain data, built by the daemon (daemon/statusDocument.ts).
import type { DataplaneCounters } from '../dataplane/counters.js';
import type { DnsCounters } from '../dns/dnsServer.js';
import type { DnsRecord } from '../dns/recordStore.js';
import type { MeshStatus } from '../mesh/meshStatus.js';
import type { ContainerNamesStatus } from '../docker/containerNames.js';
import type { PluginCounters } from '../docker/pluginServer.js';
import type { ProcessStatus } from './processStatus.js';

export const VERSION = '0.1.0';

export interface RouteStatus {
  subnet: string;
  publicIp: string;
  port: number;
  vtepMac: string | null;
}

/** The part only one mode has. */
export interface ModeStatus {
  etcd?: { endpoint: string; prefix: string; state: string; leaseId: string | null };
  mesh?: MeshStatus;
}

export interface DnsStatus {
  domain: string;
  listen: string;
  upstream: string[];
  entries: DnsRecord[];
  counters: DnsCounters & { forwardsRefused: number };
}

export interface DockerStatus {
  /** null: no --docker-plugin. */
  plugin: { socket: string; bridge: string; addresses: string; networks: number; endpoints: number; allocated: number; counters: PluginCounters } | null;
  /** null: no --docker-api. */
  names: (ContainerNamesStatus & { api: string }) | null;
}

export interface Status extends ModeStatus {
  version: string;
  mode: 'static' | 'etcd' | 'mesh';
  backend: string;
  network: string;
  subnet: string;
  bridgeAddress: string;
  /** Dual stack: the IPv6 network, subnet and bridge address; null: IPv4 only. */
  ipv6: { network: string; subnet: string; bridgeAddress: string } | null;
  /** --ip-masq: the nftables table holding the rules, and how often they were put back; null: off. */
  ipMasq: { table: string; restored: number } | null;
  /** null: mesh mode without --public-ip (peers know this host by its connections). */
  publicIp: string | null;
  port: number;
  vni: number | null;
  vtepMac: string;
  tun: string;
  mtu: number;
  /** TUN TSO/checksum offload with UDP GSO/GRO in use. */
  offload: boolean;
  routes: RouteStatus[];
  counters: DataplaneCounters;
  /** Packets the kernel dropped at the TUN's full queue before the daemon read them (the daemon fell behind), since the TUN was made; null: unreadable. */
  tunQueueDrops: number | null;
  /** Datagrams the kernel dropped at the data socket's full receive buffer before the daemon read them (a GRO batch counts once), since it was opened; null: unreadable. */
  dataSocketDrops: number | null;
  /** Traffic with each peer ever seen, by underlay address. */
  peerTraffic: { publicIp: string; txPackets: number; txBytes: number; rxPackets: number; rxBytes: number }[];
  process: ProcessStatus;
  /** null: datagrams go in the clear. */
  encryption: { cipher: string; neighbours: { publicIp: string; port: number; txEpoch: number; txCounter: number; rxEpoch: number }[] } | null;
  /** null: no DNS server (--no-dns). */
  dns: DnsStatus | null;
  /** null: neither the Docker plugin nor --docker-api. */
  docker: DockerStatus | null;
}
