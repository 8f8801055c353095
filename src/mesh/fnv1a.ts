// FNV-1a (32 bits) over strings in order: a cheap fingerprint for digests,
// to tell whether two views differ. Not for anything an attacker chooses.

export function fnv1a(parts: Iterable<string>): number {
  let h = 0x811c9dc5;
  for (const s of parts) for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}
