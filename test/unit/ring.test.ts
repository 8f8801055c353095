import { describe, expect, it } from 'vitest';
import { donation, freeRanges } from '../../src/ipam/blocks.js';
import { Ring, RingConflict } from '../../src/ipam/ring.js';
import { FrameReader, encodeJsonFrame, FrameType, MAX_FRAME } from '../../src/mesh/frames.js';
import { judgeHello, type Hello } from '../../src/mesh/handshake.js';

describe('allocation ring', () => {
  it('transfers ranges only from their owner, and merges to the same state in any order', () => {
    const a = Ring.found('a', 64);
    const gift = donation(a, 'a', 1)!;
    expect(gift).toEqual({ start: 33, end: 64 }); // upper half of [2, 64)
    const t1 = a.transfer('a', 'b', gift.start, gift.end);
    expect(() => a.transfer('a', 'c', 40, 41)).toThrow(/belongs to b/);
    const t2 = a.transfer('a', 'c', 10, 20);
    const x = Ring.found('a', 64);
    x.merge({ founder: 'a', blocks: 64, tokens: t2 });
    x.merge({ founder: 'a', blocks: 64, tokens: t1 });
    x.merge({ founder: 'a', blocks: 64, tokens: t2 });
    expect(x.state()).toEqual(a.state());
    expect(x.rangesOf('a')).toEqual([{ start: 0, end: 10 }, { start: 20, end: 33 }]);
    expect(x.rangesOf('c')).toEqual([{ start: 10, end: 20 }]);
    expect(freeRanges(x, 'a', 1)).toEqual([{ start: 0, end: 1 }, { start: 2, end: 10 }, { start: 20, end: 33 }]);
  });

  it('breaks equal versions by owner name, and refuses another founder\'s ring', () => {
    const r = Ring.found('a', 8);
    r.merge({ founder: 'a', blocks: 8, tokens: [{ start: 4, owner: 'z', version: 5 }] });
    r.merge({ founder: 'a', blocks: 8, tokens: [{ start: 4, owner: 'm', version: 5 }] });
    expect(r.ownerOf(4)).toBe('m');
    expect(() => r.merge({ founder: 'b', blocks: 8, tokens: [] })).toThrow(RingConflict);
    expect(() => Ring.fromState({ founder: 'a', blocks: 8, tokens: [{ start: 3, owner: 'a', version: 1 }] })).toThrow(/no token at block 0/);
  });

  it('hands a dead peer\'s tokens to a reclaimer with higher versions', () => {
    const r = Ring.found('a', 16);
    r.transfer('a', 'b', 8, 16);
    const changed = r.reassign('b', 'a');
    expect(changed.every((t) => t.owner === 'a')).toBe(true);
    expect(r.rangesOf('a')).toEqual([{ start: 0, end: 16 }]);
  });
});

describe('control frames and hellos', () => {
  it('reassembles frames split anywhere, and refuses lengths out of bounds', () => {
    const frames = Buffer.concat([encodeJsonFrame(FrameType.hello, { a: 1 }), encodeJsonFrame(FrameType.message, { t: 'x' })]);
    const reader = new FrameReader();
    const got = [];
    for (let i = 0; i < frames.length; i += 3) got.push(...reader.push(frames.subarray(i, i + 3)));
    expect(got.map((f) => [f.type, JSON.parse(f.payload.toString())])).toEqual([[1, { a: 1 }], [3, { t: 'x' }]]);
    const big = Buffer.alloc(5);
    big.writeUInt32BE(MAX_FRAME + 1);
    expect(() => new FrameReader().push(big)).toThrow(/out of bounds/);
  });

  it('negotiates the highest common version, and refuses what does not fit', () => {
    const ours: Hello = { protocol: 'tsoverlay', minVersion: 1, maxVersion: 3, name: 'a', nickname: '', backend: 'udp' };
    expect(judgeHello(ours, { ...ours, name: 'b', minVersion: 2, maxVersion: 5 })).toEqual({ ok: true, version: 3 });
    expect(judgeHello(ours, { ...ours, name: 'b', minVersion: 4, maxVersion: 5 })).toMatchObject({ ok: false, reason: expect.stringMatching(/version mismatch/) });
    expect(judgeHello(ours, { ...ours })).toMatchObject({ ok: false, reason: 'connected to ourselves' });
    expect(judgeHello(ours, { ...ours, name: 'b', backend: 'vxlan' })).toMatchObject({ ok: false, reason: expect.stringMatching(/backend mismatch/) });
  });
});
