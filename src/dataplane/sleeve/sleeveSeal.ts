// Sealing and opening sleeve datagrams in place, in the slab they sit in.
// One nonce buffer is reused; the only allocations are the two Buffer views
// libsodium's binding needs per datagram (not per packet).
import { openDetached, sealDetached } from '../../crypto/nacl.js';
import type { DropCounters } from '../counters.js';
import type { PeerCrypto } from './peerCrypto.js';
import { KIND_SEALED, MAC_BYTES, NONCE_BYTES, SEALED_HEADER } from './sleeveFormat.js';

const TWO_32 = 2 ** 32;
const nonce = Buffer.alloc(NONCE_BYTES);

/**
 * Writes the sealed header at buf[base] and seals the frames that follow it
 * (plainLength bytes after the MAC). Returns the datagram's length.
 */
export function sealDatagram(buf: Buffer, base: number, plainLength: number, crypto: PeerCrypto): number {
  const counter = crypto.nextTxCounter();
  buf.writeUInt32BE(KIND_SEALED << 24, base);
  buf.writeUInt32BE(crypto.txEpoch, base + 4);
  buf.writeUInt32BE(Math.floor(counter / TWO_32), base + 8);
  buf.writeUInt32BE(counter >>> 0, base + 12);
  buf.copy(nonce, 0, base + 4, base + SEALED_HEADER);
  const text = buf.subarray(base + SEALED_HEADER + MAC_BYTES, base + SEALED_HEADER + MAC_BYTES + plainLength);
  sealDetached(text, buf.subarray(base + SEALED_HEADER, base + SEALED_HEADER + MAC_BYTES), text, nonce, crypto.txKey);
  return SEALED_HEADER + MAC_BYTES + plainLength;
}

/**
 * Authenticates and decrypts the datagram at buf[start, start + length) in
 * place. Returns where its frames start, or -1 after counting why.
 */
export function openDatagram(buf: Buffer, start: number, length: number, crypto: PeerCrypto, drops: DropCounters): number {
  if (length < SEALED_HEADER + MAC_BYTES || buf.readUInt32BE(start) !== KIND_SEALED << 24) {
    drops.bad_header++;
    return -1;
  }
  const epoch = buf.readUInt32BE(start + 4);
  const counter = buf.readUInt32BE(start + 8) * TWO_32 + buf.readUInt32BE(start + 12);
  let rx = crypto.rxFor(epoch);
  if (rx === null || !rx.window.fresh(counter)) {
    drops.replay++;
    return -1;
  }
  buf.copy(nonce, 0, start + 4, start + SEALED_HEADER);
  const textStart = start + SEALED_HEADER + MAC_BYTES;
  const text = buf.subarray(textStart, start + length);
  if (!openDetached(text, text, buf.subarray(start + SEALED_HEADER, textStart), nonce, rx.key)) {
    drops.bad_seal++;
    return -1;
  }
  if (epoch !== crypto.rx.epoch && epoch === crypto.rx.epoch + 1) rx = crypto.advanceRx();
  rx.window.mark(counter);
  return textStart;
}
