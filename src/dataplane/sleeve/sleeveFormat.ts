// The sleeve datagram (docs/protocol.md): a small header, then inner IP
// packets each behind a 16-bit length, as many as fit the path MTU.
//
//   plain:  [0x11][0 0 0]                                  frames...
//   sealed: [0x12][0 0 0][epoch u32][counter u64][MAC 16]  secretbox(frames...)
//
// The sealed header's epoch and counter, padded with zeros, are the 24-byte
// nonce: each direction of each peer pair has its own key, so they never repeat.

import { MAC_BYTES } from '../../crypto/naclSizes.js';

export { MAC_BYTES };
export const SLEEVE_DEFAULT_PORT = 6784;
export const KIND_PLAIN = 0x11;
export const KIND_SEALED = 0x12;
export const PLAIN_HEADER = 4;
/** kind, reserved, epoch, counter: the bytes the nonce is taken from start at 4. */
export const SEALED_HEADER = 16;
export const FRAME_PREFIX = 2;

/** Bytes in front of the first frame. */
export function sleeveHeaderBytes(sealed: boolean): number {
  return sealed ? SEALED_HEADER + MAC_BYTES : PLAIN_HEADER;
}

/** What one packet alone costs on top of its own bytes, outer IP and UDP aside. */
export function sleeveOverhead(sealed: boolean): number {
  return sleeveHeaderBytes(sealed) + FRAME_PREFIX;
}
