// A probe of the UDP path between two neighbours, sent from one data socket
// to the other (docs/protocol.md):
//
//   [ 'T' 'S' 'P' 1 ][ id u32 ][ counter u64 ][ tag 16 ]      32 bytes
//
// The receiver chose `id` and a 32-byte key and told the sender over their
// control connection (sealed, with a password); the tag is HMAC-SHA256 of the
// first 16 bytes under that key, cut to 16, and counters only grow. So a
// probe proves it came from the peer holding the key, and a copy replayed
// from elsewhere is refused: it is what lets an endpoint move.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { PROBE_BYTES, PROBE_FIRST_BYTE } from '../dataplane/probeDatagram.js';

export const PROBE_KEY_BYTES = 32;
const MAGIC = Buffer.of(PROBE_FIRST_BYTE, 0x53, 0x50, 0x01);
const SIGNED = 16;
const TAG = 16;

export function encodeProbe(id: number, counter: bigint, key: Buffer): Buffer {
  const probe = Buffer.alloc(PROBE_BYTES);
  MAGIC.copy(probe, 0);
  probe.writeUInt32BE(id, 4);
  probe.writeBigUInt64BE(counter, 8);
  tag(key, probe).copy(probe, SIGNED, 0, TAG);
  return probe;
}

/** The id of a probe as received, or -1 if it is no probe (its magic is wrong). */
export function probeId(buf: Buffer, start: number): number {
  if (buf.compare(MAGIC, 0, MAGIC.length, start, start + MAGIC.length) !== 0) return -1;
  return buf.readUInt32BE(start + 4);
}

/** The probe's counter if its tag is right under `key`, else null. */
export function openProbe(buf: Buffer, start: number, key: Buffer): bigint | null {
  const probe = buf.subarray(start, start + PROBE_BYTES);
  const expected = tag(key, probe).subarray(0, TAG);
  if (!timingSafeEqual(expected, probe.subarray(SIGNED, SIGNED + TAG))) return null;
  return probe.readBigUInt64BE(8);
}

function tag(key: Buffer, probe: Buffer): Buffer {
  return createHmac('sha256', key).update(probe.subarray(0, SIGNED)).digest();
}
