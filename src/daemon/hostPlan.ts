// What a host runs with — backend, port, network, its subnet — and where its
// routes come from. Each mode makes one: staticMode.ts, etcdMode.ts, meshMode.ts.
import type { Handler } from '../api/server.js';
import type { ModeStatus } from '../api/status.js';
import type { Backend } from '../dataplane/backends.js';
import type { Dataplane } from '../dataplane/dataplane.js';
import type { RecordStore } from '../dns/recordStore.js';
import type { LaunchConfig } from '../config/launchConfig.js';
import type { NodeHandover } from '../mesh/meshNode.js';
import type { TcpHandover } from '../mesh/tcpMesh.js';
import type { PathsHandover } from '../mesh/udpPaths.js';
import type { Cidr } from '../net/ipv4.js';
import type { Stack6 } from '../net/ipv6Cidr.js';
import type { ReloadPlan } from './reloadPlan.js';

/** A mesh's state as a successor goes on with it (a takeover); its descriptors travel beside it. */
export interface MeshHandover {
  node: NodeHandover;
  tcp: TcpHandover;
  paths: PathsHandover;
}

/** Where routes come from: attached to the data plane once it is up, closed at stop. */
export interface RouteSource {
  attach(dataplane: Dataplane, port: number): Promise<void>;
  close(): Promise<void>;
  /** A successor takes over (daemon/takeover.ts): save what it will read, at once and synchronously; tell nobody. */
  handOver?(): void;
  /**
   * A successor takes over with this process's sockets (mesh): stop every
   * timer and connection, and return their state and descriptors. `thaw`
   * goes on as before when the successor failed.
   */
  freeze?(): { mesh: MeshHandover; fds: number[] };
  thaw?(): void;
  /**
   * In the successor, once attached: go on with the predecessor's mesh and
   * descriptors (freeze's), routes and keys in place on return; what it
   * returns is the rest (the listener, the timers), for once forwarding.
   */
  resume?(mesh: MeshHandover, fds: number[]): () => Promise<void>;
  /** Mode-specific part of `status`. */
  status(): ModeStatus;
  /** Shares this host's DNS records with the others and feeds theirs into the store (etcd, mesh). */
  attachDns?(store: RecordStore): { published(): void };
  /** Applies what a reload may change in this mode (reloadPlan.ts); returns what it changed, in words. */
  reload?(next: LaunchConfig, plan: ReloadPlan): string[];
}

export interface HostPlan {
  mode: 'static' | 'etcd' | 'mesh';
  backend: Backend;
  port: number;
  vni: number;
  network: Cidr;
  subnet: Cidr;
  /** Dual stack: the IPv6 network and this host's IPv6 subnet; null: IPv4 only. */
  ipv6: Stack6 | null;
  /** The underlay address peers are told; null in mesh mode without --public-ip or --iface (they see it). */
  publicIp: string | null;
  vtepMac: Buffer;
  /** Relay packets for other subnets (mesh mode: partially connected networks). */
  relay: boolean;
  routes: RouteSource;
  /** API endpoints only this mode has (mesh: connect, forget). */
  api: Record<string, Handler>;
}

/** What a mode may tell the lifecycle after start-up. */
export interface ModeEvents {
  /** The host cannot go on (its mesh block or etcd subnet now belongs to another): stop, and exit non-zero. */
  fatal(reason: string): void;
}
