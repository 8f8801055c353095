// NaCl's sizes, without loading libsodium: the wire formats' overheads are
// known to commands that never seal anything (`tsoverlay launch --help`).
// nacl.ts checks them against libsodium's when it loads.
export const KEY_BYTES = 32;
export const MAC_BYTES = 16;
export const NONCE_BYTES = 24;
