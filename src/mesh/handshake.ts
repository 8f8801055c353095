// The first frame each side sends: who it is and which protocol versions it
// speaks. Both sides decide alone, from the two hellos, whether to go on.

export const PROTOCOL = 'tsoverlay';
export const MIN_VERSION = 2;
export const MAX_VERSION = 2;

export interface Hello {
  protocol: string;
  minVersion: number;
  maxVersion: number;
  name: string;
  nickname: string;
  /** Data-plane encapsulation; peers must agree on it. */
  backend: string;
  /** Ephemeral Curve25519 key (base64) when this peer has a password; absent otherwise. */
  publicKey?: string;
}

export type Verdict = { ok: true; version: number } | { ok: false; reason: string };

export function isHello(v: unknown): v is Hello {
  const h = v as Hello;
  return (
    typeof h === 'object' && h !== null && typeof h.protocol === 'string' &&
    Number.isInteger(h.minVersion) && Number.isInteger(h.maxVersion) &&
    typeof h.name === 'string' && h.name.length > 0 && h.name.length <= 64 &&
    typeof h.nickname === 'string' && h.nickname.length <= 64 &&
    typeof h.backend === 'string' &&
    (h.publicKey === undefined || (typeof h.publicKey === 'string' && h.publicKey.length <= 64))
  );
}

export function judgeHello(ours: Hello, theirs: Hello): Verdict {
  if (theirs.protocol !== PROTOCOL) return { ok: false, reason: `not a tsoverlay peer (protocol ${JSON.stringify(theirs.protocol)})` };
  const version = Math.min(ours.maxVersion, theirs.maxVersion);
  if (version < Math.max(ours.minVersion, theirs.minVersion)) {
    return { ok: false, reason: `protocol version mismatch: we speak ${ours.minVersion}-${ours.maxVersion}, peer ${theirs.name} speaks ${theirs.minVersion}-${theirs.maxVersion}` };
  }
  if (theirs.name === ours.name) return { ok: false, reason: 'connected to ourselves' };
  if (theirs.backend !== ours.backend) return { ok: false, reason: `backend mismatch: we run ${ours.backend}, peer ${theirs.name} runs ${theirs.backend}` };
  if (ours.publicKey && !theirs.publicKey) return { ok: false, reason: `peer ${theirs.name} has no password, and this peer requires one` };
  if (!ours.publicKey && theirs.publicKey) return { ok: false, reason: `peer ${theirs.name} uses a password, and this peer has none` };
  return { ok: true, version };
}
