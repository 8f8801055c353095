// The part of sodium-native tsoverlay calls (the package ships no types).
declare module 'sodium-native' {
  type Bytes = Buffer | Uint8Array;
  const sodium: {
    crypto_secretbox_detached(c: Bytes, mac: Bytes, m: Bytes, n: Bytes, k: Bytes): void;
    crypto_secretbox_open_detached(m: Bytes, c: Bytes, mac: Bytes, n: Bytes, k: Bytes): boolean;
    crypto_box_keypair(pk: Bytes, sk: Bytes): void;
    crypto_scalarmult(q: Bytes, n: Bytes, p: Bytes): void;
    crypto_hash_sha256(out: Bytes, input: Bytes): void;
    crypto_generichash(out: Bytes, input: Bytes, key?: Bytes): void;
    randombytes_buf(buf: Bytes): void;
    sodium_memzero(buf: Bytes): void;
    readonly crypto_secretbox_KEYBYTES: number;
    readonly crypto_secretbox_MACBYTES: number;
    readonly crypto_secretbox_NONCEBYTES: number;
  };
  export default sodium;
}
