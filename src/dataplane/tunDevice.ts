// A TUN device opened by the addon: batch reads into a PacketBatch, batch writes out of one.
import { native, TUN_MULTI_QUEUE, TUN_VNET_HDR } from './native.js';
import type { PacketBatch } from './packetBatch.js';

export interface TunOptions {
  vnetHeader?: boolean;
  multiQueue?: boolean;
}

export class TunDevice {
  readonly fd: number;
  readonly name: string;
  private poller: object | null = null;

  constructor(name: string, options: TunOptions = {}) {
    const bits = (options.vnetHeader ? TUN_VNET_HDR : 0) | (options.multiQueue ? TUN_MULTI_QUEUE : 0);
    const opened = native.tunOpen(name, bits);
    this.fd = opened.fd;
    this.name = opened.name;
  }

  /** Reads up to `max` packets into batch slots; returns the count, or -errno. */
  read(batch: PacketBatch, max = batch.size): number {
    return native.tunRead(this.fd, batch.slab, batch.slotSize, batch.headroom, max, batch.lengths);
  }

  /** Writes the batch's first `count` outgoing packets; returns how many the kernel took. */
  write(batch: PacketBatch, count: number): number {
    return count === 0 ? 0 : native.tunWrite(this.fd, batch.slab, batch.outOffsets, batch.outLengths, count);
  }

  onReadable(handler: () => void): void {
    this.poller = native.pollStart(this.fd, handler);
  }

  close(): void {
    if (this.poller) native.pollStop(this.poller);
    this.poller = null;
    native.close(this.fd);
  }
}
