// Messages between mesh neighbours once the handshake is done (docs/protocol.md).
import type { RingState } from '../ipam/ring.js';
import { isEndpoint } from '../net/hostPort.js';
import { fnv1a } from './fnv1a.js';
import { isPeerInfo, type PeerInfo } from './peerInfo.js';
import { PROBE_KEY_BYTES } from './udpProbe.js';

/**
 * `punch`: the id and key our probes to the sender must carry over a path
 * not yet open (udpPaths.ts), the endpoint its neighbours see it at (where
 * to probe), and its ephemeral key for the data keys (with a password);
 * `reply` set on the answer to one, which is not answered.
 */
export type PunchBody = { t: 'punch'; id: number; key: string; endpoint: string; publicKey: string | null; reply: boolean };

export type UnicastBody = { t: 'block-request' } | { t: 'block-refused'; reason: string } | PunchBody;

/**
 * Between two neighbours only, about the UDP path between them (mesh/udpPaths.ts):
 * the id and key the sender wants our probes to it to carry, and the
 * endpoint our probes arrive at it from.
 */
export type LinkMessage =
  | { t: 'probe-key'; id: number; key: string }
  | { t: 'seen-at'; endpoint: string };

export type MeshMessage =
  | LinkMessage
  /** Peer infos and ring tokens the sender thinks are news (a delta, or everything). */
  | { t: 'gossip'; peers: PeerInfo[]; ring: RingState | null }
  /**
   * Anti-entropy. Short form (versions null): hashes only, answered with the
   * full form when they differ. Full form: every version the sender has,
   * answered with whatever is newer.
   */
  | { t: 'digest'; peersHash: number; versions: Record<string, number> | null; ring: { founder: string; hash: number } | null }
  /** A message for one peer, passed along the next hops. */
  | { t: 'unicast'; to: string; from: string; hops: number; body: UnicastBody };

export const MAX_UNICAST_HOPS = 32;

export function isLinkMessage(m: MeshMessage): m is LinkMessage {
  return m.t === 'probe-key' || m.t === 'seen-at';
}

export class MessageError extends Error {}

/** Checks a decoded JSON value is a well-formed message; throws MessageError otherwise. */
export function parseMessage(value: unknown): MeshMessage {
  const m = value as MeshMessage;
  if (typeof m !== 'object' || m === null) throw new MessageError('message is not an object');
  switch (m.t) {
    case 'gossip':
      if (!Array.isArray(m.peers) || !m.peers.every(isPeerInfo)) throw new MessageError('gossip with malformed peers');
      if (m.ring !== null && !isRingState(m.ring)) throw new MessageError('gossip with a malformed ring');
      return m;
    case 'digest':
      if (!Number.isInteger(m.peersHash) || (m.versions !== null && (typeof m.versions !== 'object' || !Object.values(m.versions).every((v) => Number.isInteger(v))))) {
        throw new MessageError('digest with malformed versions');
      }
      if (m.ring !== null && (typeof m.ring !== 'object' || typeof m.ring.founder !== 'string' || !Number.isInteger(m.ring.hash))) {
        throw new MessageError('digest with a malformed ring');
      }
      return m;
    case 'unicast':
      if (typeof m.to !== 'string' || typeof m.from !== 'string' || !Number.isInteger(m.hops) || typeof m.body !== 'object' || m.body === null) {
        throw new MessageError('malformed unicast');
      }
      if (m.body.t === 'punch') {
        const b = m.body;
        if (!isProbeKey(b.id, b.key) || typeof b.reply !== 'boolean' || !isEndpoint(b.endpoint) || (b.publicKey !== null && (typeof b.publicKey !== 'string' || Buffer.from(b.publicKey, 'base64').length !== 32))) {
          throw new MessageError('malformed punch');
        }
      } else if (m.body.t !== 'block-request' && m.body.t !== 'block-refused') {
        throw new MessageError('unicast of an unknown kind');
      }
      return m;
    case 'probe-key':
      if (!isProbeKey(m.id, m.key)) throw new MessageError('malformed probe-key');
      return m;
    case 'seen-at':
      if (!isEndpoint(m.endpoint)) throw new MessageError('malformed seen-at');
      return m;
    default:
      throw new MessageError(`unknown message type ${JSON.stringify((m as { t?: unknown }).t)}`);
  }
}

function isProbeKey(id: unknown, key: unknown): boolean {
  return Number.isInteger(id) && (id as number) > 0 && (id as number) <= 0xffffffff && typeof key === 'string' && Buffer.from(key, 'base64').length === PROBE_KEY_BYTES;
}

function isRingState(r: RingState): boolean {
  return (
    typeof r === 'object' && r !== null && typeof r.founder === 'string' && Number.isInteger(r.blocks) && r.blocks > 0 &&
    Array.isArray(r.tokens) &&
    r.tokens.every((t) => typeof t === 'object' && t !== null && Number.isInteger(t.start) && typeof t.owner === 'string' && Number.isInteger(t.version))
  );
}

/** A cheap fingerprint of a ring's tokens, to tell in a digest whether two views differ. */
export function ringHash(ring: RingState): number {
  return fnv1a(ring.tokens.map((t) => `${t.start}:${t.owner}:${t.version};`));
}
