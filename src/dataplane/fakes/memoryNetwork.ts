// The packet path's two ports in memory, for tests without root, in
// milliseconds: TUNs that take injected packets and keep what is written to
// them, and UDP endpoints joined by one network that copies each datagram to
// the endpoint at its destination. Nothing runs by itself: settle() calls the
// readable handlers until every queue is empty, as the event loop would.
import { internetChecksum } from '../../net/icmp.js';
import type { DropCounters } from '../counters.js';
import { align, PacketBatch } from '../packetBatch.js';
import type { TunPort, UnderlayPort } from '../ports.js';

interface Queued {
  bytes: Buffer;
  addr: number;
  port: number;
}

/** An errno to refuse a packet with, or 0 to let it go. */
export type Refusal = (bytes: Buffer, addr: number, port: number) => number;

abstract class MemoryPort {
  protected readonly queue: Queued[] = [];
  handler: (() => void) | null = null;
  closed = false;
  /** No descriptor: nothing to hand over. */
  readonly fd = -1;

  get pending(): number {
    return this.queue.length;
  }

  onReadable(handler: () => void): void {
    this.handler = handler;
  }

  stopPolling(): void {
    this.handler = null;
  }

  close(): void {
    this.closed = true;
    this.handler = null;
  }
}

export class MemoryTun extends MemoryPort implements TunPort {
  readonly offload = false;
  /** Every packet written to the TUN (delivered to this host), in order. */
  readonly written: Buffer[] = [];
  /** Set to refuse some writes, as a full or downed device does. */
  refuse: Refusal | null = null;
  /** Checksums finished on write, as the kernel finishes those marked unfinished (NEEDS_CSUM). */
  finished = 0;
  /** Per written packet: the segment size it was marked to be cut to (0: not a super-packet), and whether its checksum was finished. */
  readonly gsoSizes: number[] = [];
  readonly marked: boolean[] = [];

  constructor(readonly name: string) {
    super();
  }

  /** A packet the kernel routes into the TUN, to be read by the data path. */
  inject(packet: Buffer): void {
    this.queue.push({ bytes: Buffer.from(packet), addr: 0, port: 0 });
  }

  read(batch: PacketBatch, _drops: DropCounters): number {
    let n = 0;
    const room = batch.slotSize - batch.headroom;
    while (n < batch.size && this.queue.length > 0) {
      const { bytes } = this.queue.shift()!;
      // A read into a short buffer keeps what fits, as read(2) on a TUN does.
      const length = Math.min(bytes.length, room);
      bytes.copy(batch.slab, batch.offset(n), 0, length);
      batch.lengths[n++] = length;
    }
    return n;
  }

  /** One after another on 64-byte lines, as the addon lays them; a memory TUN has no super-packets. */
  readWhole(batch: PacketBatch, _drops: DropCounters): number {
    let n = 0;
    let line = 0;
    const room = batch.slotSize - batch.headroom;
    while (n < batch.size && this.queue.length > 0 && line + batch.headroom + room <= batch.slab.length) {
      const { bytes } = this.queue.shift()!;
      const length = Math.min(bytes.length, room);
      const at = line + batch.headroom;
      bytes.copy(batch.slab, at, 0, length);
      batch.inOffsets[n] = at;
      batch.lengths[n] = length;
      batch.gsoSizes[n] = 0;
      batch.segments[n] = 1;
      batch.segmentBytes[n] = length;
      n++;
      line = align(at + length, 64);
    }
    return n;
  }

  write(batch: PacketBatch, count: number): number {
    let written = 0;
    for (let i = 0; i < count; i++) {
      const bytes = Buffer.from(batch.slab.subarray(batch.outOffsets[i], batch.outOffsets[i] + batch.outLengths[i]));
      const errno = this.refuse?.(bytes, 0, 0) ?? 0;
      batch.status[i] = errno;
      if (errno !== 0) continue;
      const start = batch.csumStarts[i];
      if (start !== 0) {
        // The field holds the pseudo-header sum: summing from the L4 header on completes it.
        const at = start + batch.csumOffsets[i];
        const sum = internetChecksum(bytes, start, bytes.length);
        bytes.writeUInt16BE(sum === 0 && batch.csumOffsets[i] === 6 ? 0xffff : sum, at); // UDP: 0 means none
        this.finished++;
      }
      this.written.push(bytes);
      this.gsoSizes.push(batch.gsoSizes[i]);
      this.marked.push(start !== 0);
      written++;
    }
    return written;
  }
}

export class MemoryEndpoint extends MemoryPort implements UnderlayPort {
  /** Every datagram this endpoint sent, in order, as it went on the wire. */
  readonly sent: Queued[] = [];
  /** Set to refuse some sends, as the kernel does with no route or a full buffer. */
  refuse: Refusal | null = null;

  constructor(
    private readonly network: MemoryNetwork,
    readonly addr: number,
    readonly port: number,
  ) {
    super();
  }

  /** A datagram arriving from addr:port, as an attacker or another host might send it. */
  deliver(bytes: Buffer, addr: number, port: number): void {
    this.queue.push({ bytes: Buffer.from(bytes), addr, port });
  }

  receiveBatch(batchSize: number, slotSize: number): PacketBatch {
    return new PacketBatch(batchSize, slotSize, 0);
  }

  receive(batch: PacketBatch): number {
    let n = 0;
    while (n < batch.size && this.queue.length > 0) {
      const { bytes, addr, port } = this.queue.shift()!;
      // MSG_TRUNC: what fits is copied, the real length reported.
      bytes.copy(batch.slab, batch.offset(n), 0, Math.min(bytes.length, batch.slotSize - batch.headroom));
      batch.lengths[n] = bytes.length;
      batch.addrs[n] = addr;
      batch.ports[n] = port;
      n++;
    }
    return n;
  }

  /** The memory network has no routers for a TTL to run out at. */
  setTtl(): void {}

  /** A memory TUN reads no super-packets: every entry is one datagram. */
  sendCut(batch: PacketBatch, count: number, _prefix: number): number {
    for (let i = 0; i < count; i++) if (batch.gsoSizes[i] !== 0) throw new Error('a memory endpoint cuts no super-packets');
    return this.send(batch, count);
  }

  send(batch: PacketBatch, count: number): number {
    let sent = 0;
    for (let i = 0; i < count; i++) {
      const bytes = Buffer.from(batch.slab.subarray(batch.outOffsets[i], batch.outOffsets[i] + batch.outLengths[i]));
      const errno = this.refuse?.(bytes, batch.addrs[i], batch.ports[i]) ?? 0;
      batch.status[i] = errno;
      if (errno !== 0) continue;
      this.sent.push({ bytes, addr: batch.addrs[i], port: batch.ports[i] });
      this.network.route(bytes, this.addr, this.port, batch.addrs[i], batch.ports[i]);
      sent++;
    }
    return sent;
  }
}

export class MemoryNetwork {
  private readonly endpoints = new Map<string, MemoryEndpoint>();
  private readonly ports: MemoryPort[] = [];
  /** Datagrams sent to an address:port nobody has (lost, as UDP loses them). */
  lost = 0;

  endpoint(addr: number, port: number): MemoryEndpoint {
    const e = new MemoryEndpoint(this, addr, port);
    this.endpoints.set(`${addr}:${port}`, e);
    this.ports.push(e);
    return e;
  }

  tun(name: string): MemoryTun {
    const t = new MemoryTun(name);
    this.ports.push(t);
    return t;
  }

  route(bytes: Buffer, fromAddr: number, fromPort: number, toAddr: number, toPort: number): void {
    const to = this.endpoints.get(`${toAddr}:${toPort}`);
    if (to === undefined || to.closed) this.lost++;
    else to.deliver(bytes, fromAddr, fromPort);
  }

  /** Calls the readable handlers until nothing is queued anywhere; throws if that never happens. */
  settle(maxRounds = 10_000): void {
    for (let round = 0; round < maxRounds; round++) {
      const ready = this.ports.filter((p) => p.pending > 0 && p.handler !== null);
      if (ready.length === 0) return;
      for (const p of ready) p.handler!();
    }
    throw new Error(`the memory network did not settle in ${maxRounds} rounds`);
  }
}
