// One datagram at a time through the batch Sealer and Opener, for tests.
import type { DropCounters } from '../../src/dataplane/counters.js';
import type { PeerCrypto } from '../../src/dataplane/sleeve/peerCrypto.js';
import { MAC_BYTES, SEALED_HEADER } from '../../src/dataplane/sleeve/sleeveFormat.js';
import { Opener, Sealer } from '../../src/dataplane/sleeve/sleeveSeal.js';

const TEXT_AT = SEALED_HEADER + MAC_BYTES;
const single = { sealer: new Sealer(1), opener: new Opener(1) };

/** Seals one datagram (see Sealer.add); returns its length. */
export function sealDatagram(buf: Buffer, base: number, plainLength: number, crypto: PeerCrypto): number {
  const length = single.sealer.add(buf, base, plainLength, crypto);
  single.sealer.run(buf);
  return length;
}

/** Opens one datagram; returns where its frames start, or -1 after counting why not. */
export function openDatagram(buf: Buffer, start: number, length: number, crypto: PeerCrypto, drops: DropCounters): number {
  const { opener } = single;
  opener.reset();
  if (opener.add(buf, start, length, crypto, drops) < 0) return -1;
  opener.run(buf);
  const ok = opener.accept(0, drops);
  opener.reset();
  return ok ? start + TEXT_AT : -1;
}
