// The pieces of a takeover one by one: the channel (a real unix socket,
// real SCM_RIGHTS), the checks of what a successor is handed, and the
// state each part goes on with — the sealed stream, the frame reader, the
// data-path epochs and replay windows.
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { deriveKey } from '../../src/crypto/nacl.js';
import { SealedChannel } from '../../src/crypto/sealedChannel.js';
import { HandoverChannel } from '../../src/daemon/handoverChannel.js';
import { HANDOVER_VERSION, HandoverStateError, type Offer, parseOffer, parseState } from '../../src/daemon/handoverMessages.js';
import { differences } from '../../src/daemon/takeover.js';
import { native } from '../../src/dataplane/native.js';
import { PeerCrypto } from '../../src/dataplane/sleeve/peerCrypto.js';
import { ReplayWindow } from '../../src/dataplane/sleeve/replayWindow.js';
import { encodeFrame, FrameReader, FrameType } from '../../src/mesh/frames.js';

const dir = mkdtempSync(join(tmpdir(), 'tsotest-handover-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Both ends of one connection over a socket in the run dir, as the successor and the daemon make it. */
function pair(name: string): [HandoverChannel, HandoverChannel] {
  const listener = native.unixListen(join(dir, name));
  const client = native.unixConnect(join(dir, name));
  const server = native.unixAccept(listener, 1000);
  native.close(listener);
  return [new HandoverChannel(server), new HandoverChannel(client)];
}

const key = (n: number) => Buffer.alloc(32, n);

describe('the handover channel', () => {
  it('carries messages with buffers and bigints, and descriptors that stay usable', () => {
    const [a, b] = pair('one.sock');
    const file = join(dir, 'passed');
    writeFileSync(file, 'through SCM_RIGHTS');
    const fd = openSync(file, 'r');
    // More than one read of the receiver's 64 KiB, less than the socket buffer: this test is both ends.
    const big = Buffer.alloc(60_000, 7);
    b.send({ t: 'x', key: key(1), counter: 2n ** 70n, big, nested: [{ k: key(2) }] }, [fd]);
    closeSync(fd);
    const got = a.receive(1000)!;
    expect(got.fds).toHaveLength(1);
    expect(readFileSync(got.fds[0], 'utf8')).toBe('through SCM_RIGHTS');
    closeSync(got.fds[0]);
    const m = got.message as { key: Buffer; counter: bigint; big: Buffer; nested: { k: Buffer }[] };
    expect(m.key.equals(key(1))).toBe(true);
    expect(m.counter).toBe(2n ** 70n);
    expect(m.big.equals(big)).toBe(true);
    expect(m.nested[0].k.equals(key(2))).toBe(true);
    expect(a.peer().pid).toBe(process.pid);
    a.close();
    b.close();
  });

  it('gives null, and closes what came with it, for a message cut short, nothing in time, or garbage', () => {
    const [a, b] = pair('two.sock');
    expect(a.receive(20)).toBeNull();
    // A length of 1 GiB: refused before anything is read into memory.
    writeSync(b.fd, Buffer.from([0x40, 0, 0, 0, 1, 2]));
    expect(a.receive(200)).toBeNull();
    a.close();
    b.close();
    const [c, d] = pair('three.sock');
    const fd = openSync(join(dir, 'passed'), 'r');
    native.fdSend(d.fd, Buffer.from([0, 0, 0, 100, 1]), Int32Array.of(fd), 1000);
    closeSync(fd);
    d.close();
    expect(c.receive(1000)).toBeNull();
    c.close();
  });
});

const offer: Offer = { t: 'offer', handover: HANDOVER_VERSION, build: '0.1.0', pid: 1, mode: 'mesh', tun: 'tso0', offload: true, listen: '0.0.0.0', port: 6784, backend: 'sleeve', sealed: true };

describe('what a successor is offered', () => {
  it('takes an offer made as this build makes them', () => {
    expect(parseOffer(JSON.parse(JSON.stringify(offer)))).toEqual(offer);
    expect(differences(offer, { mode: 'mesh', tun: 'tso0', offload: true, listen: '0.0.0.0' })).toBeNull();
  });

  it('names what differs: another takeover version, other options', () => {
    expect(differences({ ...offer, handover: HANDOVER_VERSION + 1 }, offer)).toMatch(/hands over in version 2 of the takeover, this one .* in 1; restart it instead/);
    expect(differences(offer, { ...offer, tun: 'tso9', listen: '::' })).toBe('it runs with tun tso0, listen 0.0.0.0, this one with tun tso9, listen ::; restart it instead');
  });

  it('refuses offers that are not one', () => {
    for (const bad of [null, 'offer', { ...offer, t: 'go' }, { ...offer, port: 70000 }, { ...offer, mode: 'other' }, { ...offer, handover: undefined }]) {
      expect(() => parseOffer(bad)).toThrow(HandoverStateError);
    }
  });
});

function meshState() {
  const peer = { name: 'b', version: 3, nickname: 'b', publicIp: null, controlPort: 6783, dataPort: 6784, vtepMac: null, subnet: '10.40.1.0/24', connections: ['a'], connectionAddrs: ['10.0.0.1'], departed: false };
  const hello = { protocol: 'tsoverlay', minVersion: 2, maxVersion: 2, name: 'a', nickname: 'a', backend: 'sleeve' };
  return {
    t: 'state',
    crypto: [{ endpoint: '10.0.0.1:6784', state: { txEpoch: 0, rxEpoch: 2, rxTop: 17 } }],
    mesh: {
      node: { peers: [peer], neighbours: [['a', '10.0.0.1']], lastSeenAt: [['a', '10.0.0.1']] },
      tcp: {
        targets: [{ address: '10.0.0.1', port: 6783, learned: false, state: 'connected', peer: 'a', lastError: null, attempts: 0, nextAttempt: 0 }],
        connections: [{ outbound: true, address: '10.0.0.1:6783', peer: hello, version: 2, channel: { keys: { send: key(1), receive: key(2) }, sent: 5, received: 9 }, dataKeys: { send: key(3), receive: key(4) }, leftover: Buffer.alloc(3) }],
      },
      paths: {
        links: [{ peer: 'a', kind: 'neighbour', connectionIp: '10.0.0.1', probesFirst: true, rxId: 7, rxKey: key(5), lastCounter: 12n, txId: 8, txKey: key(6), learned: '10.0.0.1:6784', lastProbeAt: 1, wasAlive: true, probedAt: 1, offeredAt: null, seenAt: '10.0.0.2:6784', offered: null, keyPair: null, theirPublicKey: null, dataKeys: null }],
        udpSeenAt: '10.0.0.2:6784',
        nat: 'none',
      },
    },
  };
}

describe('the state a successor is handed', () => {
  it('takes a whole mesh with its listener and one descriptor per connection', () => {
    expect(parseState(meshState(), 2).mesh!.tcp.connections[0].channel!.sent).toBe(5);
    expect(parseState({ t: 'state', mesh: null, crypto: [] }, 0).mesh).toBeNull();
  });

  it('refuses what does not add up, field by field', () => {
    const broken: [string, (s: ReturnType<typeof meshState>) => void, number?][] = [
      ['descriptors', () => {}, 1],
      ['descriptors without a mesh', (s) => void ((s as { mesh: unknown }).mesh = null)],
      ['a peer', (s) => void ((s.mesh.node.peers[0] as { subnet: string }).subnet = '10.40.1.0/33')],
      ['a key', (s) => void (s.mesh.tcp.connections[0].channel.keys.send = Buffer.alloc(3))],
      ['a counter', (s) => void (s.mesh.tcp.connections[0].channel.sent = -1)],
      ['a hello', (s) => void ((s.mesh.tcp.connections[0].peer as { name: string }).name = '')],
      ['an endpoint', (s) => void (s.mesh.paths.links[0].learned = 'nowhere')],
      ['a probe counter', (s) => void ((s.mesh.paths.links[0] as { lastCounter: unknown }).lastCounter = 12)],
      ['an epoch', (s) => void (s.crypto[0].state.rxTop = -2)],
      ['a target', (s) => void ((s.mesh.tcp.targets[0] as { state: string }).state = 'dancing')],
    ];
    for (const [what, spoil, fds = 2] of broken) {
      const s = meshState();
      spoil(s);
      expect(() => parseState(s, what === 'descriptors without a mesh' ? 2 : fds), what).toThrow(HandoverStateError);
    }
  });
});

describe('the state each part goes on with', () => {
  it('a sealed control stream goes on in the successor where it stopped', () => {
    const keys = { send: key(1), receive: key(1) };
    const sender = new SealedChannel(keys);
    const before = new SealedChannel(keys);
    const frames = [1, 2, 3].map((n) => sender.seal(Buffer.from(`frame ${n}`)));
    expect(before.open(frames[0])!.toString()).toBe('frame 1');
    const after = new SealedChannel(keys, before.state());
    expect(after.open(frames[1])!.toString()).toBe('frame 2');
    expect(after.open(frames[1])).toBeNull();
  });

  it('a frame begun before the handover is finished by the successor\'s reader', () => {
    const frame = encodeFrame(FrameType.message, Buffer.from('{"t":"x"}'));
    const first = new FrameReader();
    expect(first.push(frame.subarray(0, 6))).toEqual([]);
    const second = new FrameReader(first.leftover());
    expect(second.push(frame.subarray(6)).map((f) => f.payload.toString())).toEqual(['{"t":"x"}']);
  });

  it('data-path keys: the successor sends in a new epoch and takes nothing it may have seen', () => {
    const base = { send: key(8), receive: key(9) };
    const old = new PeerCrypto(base, 100);
    for (let i = 0; i < 150; i++) old.nextTxCounter();
    old.rx.window.mark(40);
    const handed = old.handover();
    expect(handed).toEqual({ txEpoch: 1, rxEpoch: 0, rxTop: 40 });
    const next = new PeerCrypto(base, 100);
    next.resume(handed);
    expect(next.txEpoch).toBe(2);
    expect(next.nextTxCounter()).toBe(0);
    // The key of epoch 2 is one the old process never used.
    expect(next.txKey.equals(deriveKey(base.send, epochLabel(2)))).toBe(true);
    expect(next.rxFor(0)!.window.fresh(40)).toBe(false);
    expect(next.rxFor(0)!.window.fresh(3)).toBe(false);
    expect(next.rxFor(0)!.window.fresh(41)).toBe(true);
    expect(next.rxFor(1)).not.toBeNull();
  });

  it('a window seen through a counter is fresh above it only', () => {
    const w = ReplayWindow.seenThrough(70_000);
    expect([69_999, 70_000, 1].map((c) => w.fresh(c))).toEqual([false, false, false]);
    expect(w.fresh(70_001)).toBe(true);
    expect(ReplayWindow.seenThrough(-1).fresh(0)).toBe(true);
  });
});

function epochLabel(epoch: number): Buffer {
  const label = Buffer.alloc(20);
  label.write('tsoverlay epoch ', 0);
  label.writeUInt32BE(epoch, 16);
  return label;
}
