// NaCl primitives through libsodium (sodium-native). Everything the crypto
// code calls goes through here, so tests can hold it against tweetnacl.
import sodium from 'sodium-native';
import { KEY_BYTES, MAC_BYTES, NONCE_BYTES } from './naclSizes.js';

export { KEY_BYTES, MAC_BYTES, NONCE_BYTES };
if (sodium.crypto_secretbox_KEYBYTES !== KEY_BYTES || sodium.crypto_secretbox_MACBYTES !== MAC_BYTES || sodium.crypto_secretbox_NONCEBYTES !== NONCE_BYTES) {
  throw new Error('libsodium\'s secretbox sizes are not NaCl\'s');
}

export interface KeyPair {
  publicKey: Buffer;
  secretKey: Buffer;
}

export function newKeyPair(): KeyPair {
  const publicKey = Buffer.alloc(KEY_BYTES);
  const secretKey = Buffer.alloc(KEY_BYTES);
  sodium.crypto_box_keypair(publicKey, secretKey);
  return { publicKey, secretKey };
}

/** Curve25519 Diffie-Hellman; throws on a low-order public key (all-zero result). */
export function sharedSecret(secretKey: Buffer, theirPublicKey: Buffer): Buffer {
  const out = Buffer.alloc(KEY_BYTES);
  sodium.crypto_scalarmult(out, secretKey, theirPublicKey);
  return out;
}

export function sha256(input: Buffer): Buffer {
  const out = Buffer.alloc(32);
  sodium.crypto_hash_sha256(out, input);
  return out;
}

/** BLAKE2b-256 keyed hash: one key per purpose from a session key. */
export function deriveKey(key: Buffer, label: Buffer): Buffer {
  const out = Buffer.alloc(KEY_BYTES);
  sodium.crypto_generichash(out, label, key);
  return out;
}

/** Seals m in place (c = m allowed) and writes its MAC; XSalsa20-Poly1305. */
export function sealDetached(c: Buffer, mac: Buffer, m: Buffer, nonce: Buffer, key: Buffer): void {
  sodium.crypto_secretbox_detached(c, mac, m, nonce, key);
}

/** Opens c into m (in place allowed); false when the MAC does not verify. */
export function openDetached(m: Buffer, c: Buffer, mac: Buffer, nonce: Buffer, key: Buffer): boolean {
  return sodium.crypto_secretbox_open_detached(m, c, mac, nonce, key);
}

export function wipe(buf: Buffer): void {
  sodium.sodium_memzero(buf);
}
