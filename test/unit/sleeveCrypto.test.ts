import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import nacl from 'tweetnacl';
import { newKeyPair, openDetached, sealDetached, sharedSecret } from '../../src/crypto/nacl.js';
import { SealedChannel } from '../../src/crypto/sealedChannel.js';
import { sessionKeys } from '../../src/crypto/sessionKeys.js';
import { newCounters } from '../../src/dataplane/counters.js';
import { PeerCrypto } from '../../src/dataplane/sleeve/peerCrypto.js';
import { ReplayWindow, WINDOW_BITS } from '../../src/dataplane/sleeve/replayWindow.js';
import { MAC_BYTES, SEALED_HEADER } from '../../src/dataplane/sleeve/sleeveFormat.js';
import { openDatagram, sealDatagram } from '../helpers/sealOne.js';

const bytes = (n: number) => Buffer.from(nacl.randomBytes(n));

describe('libsodium against tweetnacl', () => {
  it('secretbox: identical boxes, and each opens the other', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 24, maxLength: 24 }), (m, k, n) => {
        const key = Buffer.from(k);
        const nonce = Buffer.from(n);
        const reference = Buffer.from(nacl.secretbox(m, nonce, key)); // MAC || ciphertext
        const c = Buffer.alloc(m.length);
        const mac = Buffer.alloc(MAC_BYTES);
        sealDetached(c, mac, Buffer.from(m), nonce, key);
        expect(Buffer.concat([mac, c]).equals(reference)).toBe(true);
        const back = Buffer.alloc(m.length);
        expect(openDetached(back, reference.subarray(MAC_BYTES), reference.subarray(0, MAC_BYTES), nonce, key)).toBe(true);
        expect(back.equals(Buffer.from(m))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('Curve25519: the same shared secret as nacl.scalarMult, from both sides', () => {
    for (let i = 0; i < 20; i++) {
      const a = newKeyPair();
      const b = newKeyPair();
      const ours = sharedSecret(a.secretKey, b.publicKey);
      expect(ours.equals(Buffer.from(nacl.scalarMult(a.secretKey, b.publicKey)))).toBe(true);
      expect(ours.equals(sharedSecret(b.secretKey, a.publicKey))).toBe(true);
    }
  });

  it('session keys match across the two ends only with the same password', () => {
    const a = newKeyPair();
    const b = newKeyPair();
    const ka = sessionKeys(a, b.publicKey, Buffer.from('secret'));
    const kb = sessionKeys(b, a.publicKey, Buffer.from('secret'));
    expect(ka.control.send.equals(kb.control.receive)).toBe(true);
    expect(ka.data.receive.equals(kb.data.send)).toBe(true);
    expect(ka.data.send.equals(ka.data.receive)).toBe(false);
    expect(ka.control.send.equals(ka.data.send)).toBe(false);
    const wrong = sessionKeys(b, a.publicKey, Buffer.from('Secret'));
    expect(ka.control.send.equals(wrong.control.receive)).toBe(false);
  });
});

describe('sealed control channel', () => {
  it('opens frames in order only: a replayed, dropped or altered frame fails', () => {
    const k1 = bytes(32);
    const k2 = bytes(32);
    const a = new SealedChannel({ send: k1, receive: k2 });
    const b = new SealedChannel({ send: k2, receive: k1 });
    const f1 = a.seal(Buffer.from('one'));
    const f2 = a.seal(Buffer.from('two'));
    const f3 = a.seal(Buffer.from('three'));
    expect(b.open(f1)?.toString()).toBe('one');
    expect(b.open(f1)).toBeNull(); // replayed
    expect(b.open(f3)).toBeNull(); // f2 skipped
    const altered = Buffer.from(f2);
    altered[altered.length - 1] ^= 1;
    expect(b.open(altered)).toBeNull();
    expect(b.open(f2)?.toString()).toBe('two');
    expect(b.open(Buffer.alloc(5))).toBeNull();
  });
});

describe('replay window', () => {
  it('takes each counter once, in any order inside the window, none older', () => {
    const w = new ReplayWindow();
    const order = [5, 3, 4, 100, 99, 1];
    for (const c of order) {
      expect(w.fresh(c)).toBe(true);
      w.mark(c);
      expect(w.fresh(c)).toBe(false);
    }
    w.mark(WINDOW_BITS + 200);
    expect(w.fresh(100)).toBe(false); // slid out
    expect(w.fresh(WINDOW_BITS + 199)).toBe(true);
    expect(w.fresh(250)).toBe(true); // a slot the slide cleared
  });

  it('agrees with a set-based model on random sequences', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 3 * WINDOW_BITS }), { maxLength: 300 }), (counters) => {
        const w = new ReplayWindow();
        const seen = new Set<number>();
        let top = -1;
        for (const c of counters) {
          const expected = !seen.has(c) && (c > top || top - c < WINDOW_BITS);
          expect(w.fresh(c)).toBe(expected);
          if (expected) {
            w.mark(c);
            seen.add(c);
            top = Math.max(top, c);
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('sealed sleeve datagrams', () => {
  const pair = () => {
    const send = bytes(32);
    const receive = bytes(32);
    return { a: new PeerCrypto({ send, receive }, 1000), b: new PeerCrypto({ send: receive, receive: send }, 1000) };
  };
  const datagram = (crypto: PeerCrypto, text: string | Buffer) => {
    const plain = Buffer.from(text);
    const buf = Buffer.alloc(SEALED_HEADER + MAC_BYTES + plain.length);
    plain.copy(buf, SEALED_HEADER + MAC_BYTES);
    const length = sealDatagram(buf, 0, plain.length, crypto);
    return buf.subarray(0, length);
  };
  const open = (crypto: PeerCrypto, d: Buffer) => {
    const drops = newCounters().drops;
    const copy = Buffer.from(d);
    const at = openDatagram(copy, 0, copy.length, crypto, drops);
    return { text: at < 0 ? null : copy.subarray(at).toString(), drops };
  };

  // The addon makes the keystream in 512-byte steps and 4 KiB chunks: lengths on each side of those edges.
  it('seals in the addon exactly as the tweetnacl secretbox does, at every length, and opens it back', () => {
    const { a, b } = pair();
    const edges = [0, 1, 18, 31, 32, 33, 63, 64, 65, 479, 480, 481, 511, 512, 513, 1400, 1416, 1448, 1480, 4063, 4064, 4065, 4096, 8160, 8161, 9000, 65_000];
    for (const length of edges) {
      const plain = bytes(length);
      const d = datagram(a, plain);
      const nonce = Buffer.concat([d.subarray(4, 16), Buffer.alloc(12)]);
      expect(d.subarray(SEALED_HEADER).equals(Buffer.from(nacl.secretbox(plain, nonce, a.txKey))), `length ${length}`).toBe(true);
      const copy = Buffer.from(d);
      const at = openDatagram(copy, 0, copy.length, b, newCounters().drops);
      expect(copy.subarray(at).equals(plain), `length ${length}`).toBe(true);
    }
  });

  it('leaves a datagram whose tag fails as it came', () => {
    const { a, b } = pair();
    const d = datagram(a, bytes(3000));
    d[d.length - 1] ^= 1;
    const copy = Buffer.from(d);
    const drops = newCounters().drops;
    expect(openDatagram(copy, 0, copy.length, b, drops)).toBeLessThan(0);
    expect(drops.bad_seal).toBe(1);
    expect(copy.equals(d)).toBe(true);
  });

  it('opens what the peer sealed; the plain text is not on the wire', () => {
    const { a, b } = pair();
    const d = datagram(a, 'marker-1234567890');
    expect(d.includes(Buffer.from('marker'))).toBe(false);
    expect(open(b, d).text).toBe('marker-1234567890');
  });

  it('drops a replay, a flipped bit anywhere, and a datagram under another key', () => {
    const { a, b } = pair();
    const d = datagram(a, 'hello');
    expect(open(b, d).text).toBe('hello');
    const replay = open(b, d);
    expect(replay.text).toBeNull();
    expect(replay.drops.replay).toBe(1);
    const d2 = datagram(a, 'second');
    for (let bit = 32; bit < d2.length * 8; bit += 7) {
      const forged = Buffer.from(d2);
      forged[bit >> 3] ^= 1 << (bit & 7);
      const r = open(b, forged);
      expect(r.text).toBeNull();
      expect(r.drops.bad_seal + r.drops.replay + r.drops.bad_header).toBe(1);
    }
    expect(open(b, d2).text).toBe('second'); // forgeries did not move the window
    const other = pair();
    expect(open(other.b, datagram(a, 'x')).drops.bad_seal).toBe(1);
  });

  it('renews the key after rekeyAfter datagrams; the receiver follows, late ones of the old epoch still open', () => {
    const { a, b } = pair();
    const late = datagram(a, 'late');
    for (let i = 0; i < 1500; i++) expect(open(b, datagram(a, `n${i}`)).text).toBe(`n${i}`);
    expect(a.txEpoch).toBe(1);
    expect(b.rx.epoch).toBe(1);
    expect(open(b, late).text).toBe('late');
    for (let i = 0; i < 1000; i++) datagram(a, 'skip');
    expect(open(b, datagram(a, 'epoch2')).text).toBe('epoch2');
    expect(open(b, late).text).toBeNull(); // two epochs back: gone
  });
});
