// Keys of one control connection, as weave forms them: the session key is
// SHA-256 of the ephemeral Curve25519 shared secret and the password, so a
// peer without the password cannot compute it. Each direction and purpose
// then gets its own key, so no nonce is ever used twice under one key.
import { deriveKey, type KeyPair, sha256, sharedSecret, wipe } from './nacl.js';

export interface DirectionKeys {
  send: Buffer;
  receive: Buffer;
}

export interface SessionKeys {
  control: DirectionKeys;
  /** Base keys of the data path; each epoch's key is derived from them (dataplane/sleeve/peerCrypto.ts). */
  data: DirectionKeys;
}

export function sessionKeys(ours: KeyPair, theirPublicKey: Buffer, password: Buffer): SessionKeys {
  const shared = sharedSecret(ours.secretKey, theirPublicKey);
  const session = sha256(Buffer.concat([shared, password]));
  wipe(shared);
  const key = (purpose: string, sender: Buffer) => deriveKey(session, Buffer.concat([Buffer.from(`tsoverlay ${purpose} `), sender]));
  const keys = {
    control: { send: key('control', ours.publicKey), receive: key('control', theirPublicKey) },
    data: { send: key('data', ours.publicKey), receive: key('data', theirPublicKey) },
  };
  wipe(session);
  return keys;
}
