// The two sides of the packet path, as the direction classes see them: a TUN
// and an underlay endpoint, both moving whole batches (wireguard-go's
// tun.Device and conn.Bind). tunDevice.ts and udpEndpoint.ts implement them
// over the addon; fakes/ implements them in memory for tests without root.
import type { DropCounters } from './counters.js';
import type { PacketBatch } from './packetBatch.js';

export interface TunPort {
  readonly name: string;
  /** Super-packets in and glued runs out (virtio-net headers). */
  readonly offload: boolean;
  /**
   * Reads packets into the batch (lengths[i] at offset(i)); returns the count,
   * 0 when none, or -errno. Reads it cannot use count as `tun_offload` drops.
   */
  read(batch: PacketBatch, drops: DropCounters): number;
  /**
   * Reads packets one after another into the slab (inOffsets, lengths), a TCP or
   * UDP super-packet whole, not cut: gsoSizes, segments and segmentBytes say
   * what each becomes once cut. Returns as read() does.
   */
  readWhole(batch: PacketBatch, drops: DropCounters): number;
  /**
   * Writes the batch's first `count` outgoing packets; sets status[i]; returns how many were written.
   * checkGlued: a packet whose checksum is complete joins a glued run only if the checksum holds
   * (the kernel trusts a glued run's bytes and computes its checksums anew).
   */
  write(batch: PacketBatch, count: number, checkGlued: boolean): number;
  /** Calls `handler` whenever packets may be waiting (level-triggered). */
  onReadable(handler: () => void): void;
  stopPolling(): void;
  /** The descriptor a successor is handed (a takeover); -1: none. */
  readonly fd: number;
  close(): void;
}

export interface UnderlayPort {
  /** The UDP port datagrams arrive at. */
  readonly port: number;
  /** A receive batch shaped for this endpoint (with GRO: large regions holding many datagrams). */
  receiveBatch(batchSize: number, slotSize: number): PacketBatch;
  /** Receives datagrams: lengths, sources (addrs, ports), inOffsets. Returns the count, 0 when none, or -errno. */
  receive(batch: PacketBatch): number;
  /** Sends the batch's first `count` outgoing datagrams to addrs/ports; sets status[i]; returns how many went. */
  send(batch: PacketBatch, count: number): number;
  /**
   * send() for what readWhole read, behind a `prefix`-byte header that is the
   * same for every segment but for, at `lengthAt` when given, the 16-bit
   * length of the segment's IP packet (a sleeve frame's): an entry with
   * gsoSizes[i] != 0 is cut on its way out. status[i] = 0 when all of entry
   * i went; returns how many entries did.
   */
  sendCut(batch: PacketBatch, count: number, prefix: number, lengthAt?: number): number;
  /** The IP TTL of what is sent from now on; null: the system's default. */
  setTtl(ttl: number | null): void;
  onReadable(handler: () => void): void;
  stopPolling(): void;
  readonly fd: number;
  close(): void;
}
