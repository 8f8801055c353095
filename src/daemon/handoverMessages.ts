// What the running daemon and its successor say during a takeover
// (takeover.ts, handover.ts), and the checks a successor makes of what it
// is handed: the sender proved who it is, but state is parsed here, once,
// into the types the mesh and the data path go on with.
//
//   successor                     running daemon
//   (listens, SIGUSR2)     ->
//                          <-     offer   + TUN, UDP descriptors (forwarding on)
//   go                     ->             (plans, sets up the host, opens the data path)
//                          <-     state   + listener, connection descriptors (stopped)
//   taken | refuse         ->             (exits | goes on)
import type { CryptoHandover } from '../dataplane/sleeve/peerCrypto.js';
import type { ConnectionHandover } from '../mesh/controlConnection.js';
import { isHello } from '../mesh/handshake.js';
import { isPeerInfo } from '../mesh/peerInfo.js';
import type { Target } from '../mesh/tcpMesh.js';
import type { LinkHandover, PathsHandover } from '../mesh/udpPaths.js';
import { isEndpoint } from '../net/hostPort.js';
import type { MeshHandover } from './hostPlan.js';

/** Raised whenever a field below changes meaning: builds that differ in it refuse each other. */
export const HANDOVER_VERSION = 1;

/** How the running daemon was started: the successor must have been started the same way to use its descriptors. */
export interface Offer {
  t: 'offer';
  handover: number;
  build: string;
  pid: number;
  mode: 'static' | 'etcd' | 'mesh';
  tun: string;
  offload: boolean;
  listen: string;
  port: number;
  backend: string;
  sealed: boolean;
}

export interface HandedState {
  t: 'state';
  mesh: MeshHandover | null;
  crypto: { endpoint: string; state: CryptoHandover }[];
}

export type Answer = { t: 'go' } | { t: 'taken' } | { t: 'refuse'; reason: string };

export class HandoverStateError extends Error {}

export function parseOffer(v: unknown): Offer {
  const o = v as Offer;
  check(isObject(o) && o.t === 'offer', 'not an offer');
  check(Number.isInteger(o.handover), 'offer without a handover version');
  check(typeof o.build === 'string' && Number.isInteger(o.pid) && ['static', 'etcd', 'mesh'].includes(o.mode), 'malformed offer');
  check(typeof o.tun === 'string' && typeof o.offload === 'boolean' && typeof o.listen === 'string' && isPort(o.port), 'malformed offer');
  check(typeof o.backend === 'string' && typeof o.sealed === 'boolean', 'malformed offer');
  return o;
}

export function parseAnswer(v: unknown): Answer {
  const a = v as Answer;
  check(isObject(a) && (a.t === 'go' || a.t === 'taken' || (a.t === 'refuse' && typeof a.reason === 'string')), 'malformed answer');
  return a;
}

/** The handed state, with `fds` descriptors beside it (the listener's and one per connection in mesh mode). */
export function parseState(v: unknown, fds: number): HandedState {
  const s = v as HandedState;
  check(isObject(s) && s.t === 'state', 'not a state');
  check(Array.isArray(s.crypto) && s.crypto.every(isCrypto), 'malformed data-path keys');
  if (s.mesh === null) {
    check(fds === 0, 'descriptors without a mesh');
    return s;
  }
  const m = s.mesh;
  check(isObject(m) && isObject(m.node) && isObject(m.tcp) && isObject(m.paths), 'malformed mesh');
  check(Array.isArray(m.node.peers) && m.node.peers.every(isPeerInfo), 'malformed peers');
  check(isPairs(m.node.lastSeenAt) && isPairs(m.node.neighbours), 'malformed neighbours');
  check(Array.isArray(m.tcp.targets) && m.tcp.targets.every(isTarget), 'malformed targets');
  check(Array.isArray(m.tcp.connections) && m.tcp.connections.every(isConnection), 'malformed connections');
  check(fds === 1 + m.tcp.connections.length, `${fds} descriptors for ${m.tcp.connections.length} connections`);
  check(isPaths(m.paths), 'malformed UDP paths');
  return s;
}

function isCrypto(c: { endpoint: string; state: CryptoHandover }): boolean {
  const k = c?.state;
  return isObject(c) && isEndpoint(c.endpoint) && isObject(k) && isCount(k.txEpoch) && isCount(k.rxEpoch) && Number.isInteger(k.rxTop) && k.rxTop >= -1;
}

function isPairs(list: unknown): list is [string, string][] {
  return Array.isArray(list) && list.every((e) => Array.isArray(e) && e.length === 2 && isText(e[0]) && isText(e[1]));
}

function isTarget(t: Target): boolean {
  return (
    isObject(t) && isText(t.address) && isPort(t.port) && typeof t.learned === 'boolean' && ['connecting', 'connected', 'retrying'].includes(t.state) &&
    isTextOrNull(t.peer) && (t.lastError === null || typeof t.lastError === 'string') && isCount(t.attempts) && Number.isFinite(t.nextAttempt)
  );
}

function isConnection(c: ConnectionHandover): boolean {
  return (
    isObject(c) && typeof c.outbound === 'boolean' && isText(c.address) && isHello(c.peer) && isCount(c.version) &&
    (c.channel === null || (isObject(c.channel) && isKeys(c.channel.keys) && isCount(c.channel.sent) && isCount(c.channel.received))) &&
    (c.dataKeys === null || isKeys(c.dataKeys)) &&
    Buffer.isBuffer(c.leftover)
  );
}

function isPaths(p: PathsHandover): boolean {
  return Array.isArray(p.links) && p.links.every(isLink) && (p.udpSeenAt === null || isEndpoint(p.udpSeenAt)) && (p.nat === null || typeof p.nat === 'string');
}

function isLink(l: LinkHandover): boolean {
  const time = (t: number | null) => t === null || Number.isFinite(t);
  return (
    isObject(l) && isText(l.peer) && (l.kind === 'neighbour' || l.kind === 'punch') && isTextOrNull(l.connectionIp) && typeof l.probesFirst === 'boolean' &&
    Number.isInteger(l.rxId) && l.rxId > 0 && isKey(l.rxKey) && typeof l.lastCounter === 'bigint' &&
    (l.txId === null || Number.isInteger(l.txId)) && (l.txKey === null || isKey(l.txKey)) &&
    (l.learned === null || isEndpoint(l.learned)) && (l.offered === null || isEndpoint(l.offered)) && (l.seenAt === null || isEndpoint(l.seenAt)) &&
    time(l.lastProbeAt) && time(l.probedAt) && time(l.offeredAt) && typeof l.wasAlive === 'boolean' &&
    (l.keyPair === null || (isObject(l.keyPair) && isKey(l.keyPair.publicKey) && isKey(l.keyPair.secretKey))) &&
    isTextOrNull(l.theirPublicKey) && (l.dataKeys === null || isKeys(l.dataKeys))
  );
}

function isKeys(k: { send: Buffer; receive: Buffer }): boolean {
  return isObject(k) && isKey(k.send) && isKey(k.receive);
}

function isKey(b: unknown): b is Buffer {
  return Buffer.isBuffer(b) && b.length >= 16 && b.length <= 64;
}

function isObject(v: unknown): v is object {
  return typeof v === 'object' && v !== null && !Buffer.isBuffer(v);
}

function isText(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= 256;
}

function isTextOrNull(v: unknown): boolean {
  return v === null || isText(v);
}

function isCount(v: unknown): boolean {
  return Number.isInteger(v) && (v as number) >= 0;
}

function isPort(v: unknown): boolean {
  return Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 65535;
}

function check(ok: boolean, what: string): asserts ok {
  if (!ok) throw new HandoverStateError(what);
}
