// The mesh over TCP: listens for peers, dials the peers it is told of and
// those it learns by gossip (with backoff), keeps one connection per peer,
// and passes messages between the sockets and the MeshNode.
import { createServer, connect, type Server, Socket } from 'node:net';
import { ListenError } from '../errors.js';
import { type ConnectionEvents, type ConnectionHandover, ControlConnection } from './controlConnection.js';
import type { DirectionKeys } from '../crypto/sessionKeys.js';
import type { Hello } from './handshake.js';
import { type LinkMessage, type MeshMessage, isLinkMessage } from './messages.js';
import type { MeshNode, MeshTransport } from './meshNode.js';
import { CONTROL_PORT } from './meshOptions.js';
import { descriptorOf } from './socketHandle.js';
import { formatHostPort } from '../net/hostPort.js';

const CONNECT_TIMEOUT_MS = 3000;
const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 30_000;

export type TargetState = 'connecting' | 'connected' | 'retrying';

export interface Target {
  address: string;
  port: number;
  /** Named at launch or by `connect` (kept), or learned by gossip. */
  learned: boolean;
  state: TargetState;
  peer: string | null;
  lastError: string | null;
  attempts: number;
  nextAttempt: number;
}

export interface TcpMeshLog {
  (level: 'info' | 'warn', message: string, fields?: Record<string, unknown>): void;
}

export interface TcpMeshOptions {
  hello: Hello;
  listenAddress: string;
  port: number;
  tickMs: number;
  /** Peers learned by gossip are dialled only while fewer connections than this are up. */
  connLimit: number;
  /** The mesh secret; null: no encryption. */
  password: Buffer | null;
  log: TcpMeshLog;
  /** The data keys agreed with a neighbour, or null when its connection is gone (password set). */
  keysChanged?(peer: string, keys: DirectionKeys | null): void;
  /** Neighbours' connections and the messages about their UDP path (mesh/udpPaths.ts). */
  links?: LinkEvents;
}

/** What a successor needs to go on with the mesh's connections (a takeover); the descriptors travel beside it. */
export interface TcpHandover {
  targets: Target[];
  /** In the order of their descriptors. */
  connections: ConnectionHandover[];
}

export interface LinkEvents {
  up(peer: string, remoteIp: string, outbound: boolean): void;
  down(peer: string): void;
  message(peer: string, message: LinkMessage): void;
}

export class TcpMesh implements MeshTransport {
  private node: MeshNode | null = null;
  private readonly server: Server;
  private readonly connections = new Map<string, ControlConnection>();
  private readonly targets = new Map<string, Target>();
  private tickTimer: NodeJS.Timeout | null = null;
  private closing = false;
  /** Connections that ended before their handshake completed (refusals, garbage). */
  refused = 0;

  private readonly hello: Hello;
  private readonly log: TcpMeshLog;
  private password: Buffer | null;

  constructor(private readonly options: TcpMeshOptions) {
    this.hello = options.hello;
    this.log = options.log;
    this.password = options.password;
    this.server = createServer((socket) => this.adopt(socket, false, formatHostPort((socket.remoteAddress ?? '').replace(/^::ffff:/, ''), socket.remotePort ?? 0)));
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', (error: NodeJS.ErrnoException) => {
        reject(new ListenError(`cannot listen for peers on TCP ${this.options.listenAddress}:${this.options.port}`, error));
      });
      this.server.listen(this.options.port, this.options.listenAddress, resolve);
    });
  }

  start(node: MeshNode): void {
    this.node = node;
    const tick = () => {
      try {
        node.tick();
        this.learnTargets();
        this.dialDue();
      } catch (error) {
        this.log('warn', 'mesh tick failed', { error: (error as Error).message });
      }
    };
    this.tickTimer = setInterval(tick, this.options.tickMs);
    tick();
  }

  /** A peer to keep connected to (`launch` arguments, `tsoverlay connect`). */
  addTarget(address: string, port = CONTROL_PORT, learned = false): void {
    const key = formatHostPort(address, port);
    const known = this.targets.get(key);
    if (known) {
      if (!learned) known.learned = false;
      return;
    }
    this.targets.set(key, { address, port, learned, state: 'retrying', peer: null, lastError: null, attempts: 0, nextAttempt: 0 });
    if (this.node) this.dialDue();
  }

  /** A rotated mesh secret: connections made from now on prove this one; those up keep their keys. */
  setPassword(password: Buffer): void {
    this.password = password;
  }

  /** Stops trying to connect to a target (`tsoverlay forget`); an open connection stays. */
  forgetTarget(address: string, port = CONTROL_PORT): boolean {
    return this.targets.delete(formatHostPort(address, port));
  }

  send(neighbour: string, message: MeshMessage): void {
    this.connections.get(neighbour)?.send(message);
  }

  /** The underlay address an established neighbour's connection comes from, or goes to. */
  connectionIp(neighbour: string): string | null {
    return this.connections.get(neighbour)?.remoteIp ?? null;
  }

  targetList(): Target[] {
    return [...this.targets.values()];
  }

  connectionList(): { name: string; nickname: string; address: string; outbound: boolean; version: number; encrypted: boolean }[] {
    return [...this.connections.values()].map((c) => ({ name: c.peer!.name, nickname: c.peer!.nickname, address: c.address, outbound: c.outbound, version: c.version, encrypted: c.encrypted }));
  }

  /**
   * Stops the timers and each established connection for a successor;
   * returns their state and descriptors, the listener's first (while this
   * process waits for the successor, nothing is accepted). Connections that
   * cannot be handed over stay here and end with this process.
   */
  freeze(): { state: TcpHandover; fds: number[] } {
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.tickTimer = null;
    const listener = descriptorOf(this.server);
    if (listener < 0) throw new Error('the control listener has no descriptor');
    const connections: ConnectionHandover[] = [];
    const fds = [listener];
    for (const c of this.connections.values()) {
      const fd = c.fd;
      const frozen = fd >= 0 ? c.freeze() : null;
      if (!frozen) continue;
      connections.push(frozen);
      fds.push(fd);
    }
    return { state: { targets: this.targetList().map((t) => ({ ...t })), connections }, fds };
  }

  /** The successor failed: everything goes on as before. */
  thaw(): void {
    for (const c of this.connections.values()) c.thaw();
    if (this.node) this.start(this.node);
  }

  /**
   * Goes on with a predecessor's targets and established connections (a
   * takeover): the neighbours see no change. The node learns of them from
   * its own handover (MeshNode.resume); then `listenOn` and `start`.
   */
  resume(state: TcpHandover, connectionFds: number[], node: MeshNode): void {
    this.node = node;
    for (const t of state.targets) this.targets.set(formatHostPort(t.address, t.port), { ...t, state: t.state === 'connecting' ? 'retrying' : t.state, nextAttempt: 0 });
    state.connections.forEach((h, i) => {
      const socket = new Socket({ fd: connectionFds[i], readable: true, writable: true });
      const c = new ControlConnection(socket, h.outbound, h.address, this.hello, this.password, this.events(), h);
      const name = h.peer.name;
      this.connections.set(name, c);
      // An outbound connection's address is its target's key (dial).
      const target = h.outbound ? this.targets.get(h.address) : undefined;
      if (target) socket.once('close', () => this.retryLater(target, c.closeReason ?? 'closed'));
      if (c.dataKeys) this.options.keysChanged?.(name, c.dataKeys);
    });
  }

  /** The predecessor's listening socket. */
  async listenOn(fd: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', (error) => reject(new ListenError('cannot listen for peers on the handed-over socket', error)));
      this.server.listen({ fd }, resolve);
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.tickTimer) clearInterval(this.tickTimer);
    for (const c of this.connections.values()) c.close('peer leaving', true);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Dials every peer gossip tells of; forgets learned addresses no peer has any more (departed, or gone). */
  private learnTargets(): void {
    const node = this.node!;
    const current = new Set<string>();
    const book = node.addressBook();
    for (const info of node.topology.peers.values()) {
      if (info.name === node.name || info.departed) continue;
      const connected = this.connections.has(info.name);
      for (const address of book.get(info.name) ?? []) {
        current.add(formatHostPort(address, info.controlPort));
        if (!connected) this.addTarget(address, info.controlPort, true);
      }
    }
    for (const [key, target] of this.targets) {
      if (target.learned && target.state !== 'connected' && !current.has(key)) this.targets.delete(key);
    }
  }

  private underLimit(target: Target): boolean {
    return !target.learned || this.connections.size < this.options.connLimit;
  }

  private dialDue(): void {
    const now = Date.now();
    for (const target of this.targets.values()) {
      if (target.state !== 'retrying' || target.nextAttempt > now || !this.underLimit(target)) continue;
      if (target.peer && this.connections.has(target.peer)) {
        target.state = 'connected';
        continue;
      }
      this.dial(target);
    }
  }

  private dial(target: Target): void {
    target.state = 'connecting';
    target.attempts++;
    const socket = connect({ host: target.address, port: target.port });
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => socket.destroy(new Error('connect timed out')));
    socket.once('connect', () => {
      socket.setTimeout(0);
      const connection = this.adopt(socket, true, formatHostPort(target.address, target.port));
      connection.socket.once('close', () => this.retryLater(target, connection.closeReason ?? 'closed'));
    });
    socket.once('error', (error) => {
      if (socket.connecting || socket.pending) this.retryLater(target, error.message);
    });
  }

  private retryLater(target: Target, reason: string): void {
    if (this.closing || !this.targets.has(formatHostPort(target.address, target.port))) return;
    if (target.state === 'retrying') return;
    target.state = 'retrying';
    target.lastError = reason;
    const backoff = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(target.attempts - 1, 5));
    target.nextAttempt = Date.now() + backoff * (0.75 + Math.random() / 2);
  }

  private adopt(socket: Socket, outbound: boolean, address: string): ControlConnection {
    return new ControlConnection(socket, outbound, address, this.hello, this.password, this.events());
  }

  private events(): ConnectionEvents {
    return {
      established: (c) => this.onEstablished(c),
      message: (c, m) => {
        try {
          if (this.connections.get(c.peer!.name) !== c) return;
          if (isLinkMessage(m)) this.options.links?.message(c.peer!.name, m);
          else this.node?.receive(c.peer!.name, m);
        } catch (error) {
          c.close(`message handling failed: ${(error as Error).message}`, true);
        }
      },
      closed: (c, reason) => this.onClosed(c, reason),
    };
  }

  private onEstablished(c: ControlConnection): void {
    const name = c.peer!.name;
    const existing = this.connections.get(name);
    if (existing) {
      // Both ends dialled at once: keep the connection the lower-named peer opened.
      const keepNew = c.outbound === this.hello.name < name;
      if (!keepNew) return c.close('duplicate connection', true);
      this.connections.set(name, c);
      existing.close('duplicate connection', true);
      if (c.dataKeys) this.options.keysChanged?.(name, c.dataKeys);
      this.options.links?.up(name, c.remoteIp, c.outbound);
    } else {
      if (c.dataKeys) this.options.keysChanged?.(name, c.dataKeys);
      this.connections.set(name, c);
      this.options.links?.up(name, c.remoteIp, c.outbound);
      this.log('info', 'connected to peer', { peer: name, nickname: c.peer!.nickname, address: c.address, direction: c.outbound ? 'out' : 'in' });
    }
    for (const t of this.targets.values()) {
      if (formatHostPort(t.address, t.port) === c.address || t.peer === name) {
        t.state = 'connected';
        t.peer = name;
        t.attempts = 0;
        t.lastError = null;
      }
    }
    if (!existing) this.node?.neighbourUp(name, c.remoteIp);
  }

  private onClosed(c: ControlConnection, reason: string): void {
    const name = c.peer?.name;
    if (name && this.connections.get(name) === c) {
      this.connections.delete(name);
      if (c.dataKeys) this.options.keysChanged?.(name, null);
      this.options.links?.down(name);
      this.log('info', 'lost peer', { peer: name, address: c.address, reason });
      for (const t of this.targets.values()) if (t.peer === name && t.state === 'connected') this.retryLater(t, reason);
      this.node?.neighbourDown(name);
    } else if (!name && !this.closing) {
      this.refused++;
      this.log('warn', 'refused a control connection', { address: c.address, reason });
    }
  }
}
