// A TUN device opened by the addon: batch reads into a PacketBatch, batch writes out of one.
import { UserError } from '../errors.js';
import type { DropCounters } from './counters.js';
import { isSystemError, native } from './native.js';
import type { PacketBatch } from './packetBatch.js';
import type { TunPort } from './ports.js';

/** The TUN cannot be had (no permission, no /dev/net/tun, a name in use by another kind of device). */
export class TunOpenError extends UserError {}

/** One read: a virtio-net header and a packet of up to 64 KiB. */
const STAGING = 65536 + 64;

export class TunDevice implements TunPort {
  readonly fd: number;
  readonly name: string;
  private poller: object | null = null;
  private readonly staging: Buffer | null;
  private readonly unusable = new Uint32Array(1);
  /** UDP segmentation offload too: UDP super-packets in, glued runs of datagrams out. */
  readonly uso: boolean;

  constructor(
    name: string,
    /** Virtio-net headers with TSO4, TSO6, checksum offload and USO where the kernel has it: super-packets in, glued runs out. */
    readonly offload: boolean,
    /** The device outlives this process unless closed: a crash leaves it, with its addresses and routes, for the next run to adopt. */
    persistent = true,
    /** A predecessor's open descriptor of the device (a takeover), made with the same offload. */
    handed: number | null = null,
  ) {
    const options = offload ? native.TUN_VNET_HDR | native.TUN_OFFLOAD : 0;
    let opened: { fd: number; name: string; uso: boolean };
    if (handed !== null) opened = { fd: handed, name, uso: native.tunSetOffload(handed, options) };
    else try {
      // An existing device (left by a crashed run) is adopted: the kernel takes the new flags and offloads.
      opened = native.tunOpen(name, options);
      if (persistent) native.tunSetPersist(opened.fd, 1);
    } catch (error) {
      if (isSystemError(error)) throw new TunOpenError(`cannot open TUN ${name}: ${error.message}`);
      throw error;
    }
    this.fd = opened.fd;
    this.name = opened.name;
    this.uso = opened.uso;
    this.staging = offload ? Buffer.allocUnsafeSlow(STAGING) : null;
  }

  read(batch: PacketBatch, drops: DropCounters): number {
    if (this.staging) {
      const n = native.tunReadVnet(this.fd, this.staging, batch.slab, batch.slotSize, batch.headroom, batch.size, batch.lengths, this.unusable);
      if (this.unusable[0] !== 0) {
        drops.tun_offload += this.unusable[0];
        this.unusable[0] = 0;
      }
      return n;
    }
    return native.tunRead(this.fd, batch.slab, batch.slotSize, batch.headroom, batch.size, batch.lengths);
  }

  readWhole(batch: PacketBatch, drops: DropCounters): number {
    const n = native.tunReadWhole(this.fd, batch.slab, batch.headroom, batch.slotSize - batch.headroom, batch.size, batch.inOffsets, batch.lengths, batch.gsoSizes, batch.segments, batch.segmentBytes, this.unusable, this.offload ? 1 : 0);
    if (this.unusable[0] !== 0) {
      drops.tun_offload += this.unusable[0];
      this.unusable[0] = 0;
    }
    return n;
  }

  write(batch: PacketBatch, count: number, checkGlued: boolean): number {
    const vnet = this.offload ? 1 | (this.uso ? native.TUN_WRITE_USO : 0) | (checkGlued ? native.TUN_WRITE_CHECK : 0) : 0;
    return count === 0 ? 0 : native.tunWrite(this.fd, batch.slab, batch.outOffsets, batch.outLengths, batch.csumStarts, batch.csumOffsets, batch.gsoSizes, batch.status, count, vnet);
  }

  onReadable(handler: () => void): void {
    this.poller = native.pollStart(this.fd, handler);
  }

  /** Closes the device for good: it goes, and the kernel takes its routes with it. */
  close(): void {
    this.stopPolling();
    native.tunSetPersist(this.fd, 0);
    native.close(this.fd);
  }

  stopPolling(): void {
    if (this.poller) native.pollStop(this.poller);
    this.poller = null;
  }
}
