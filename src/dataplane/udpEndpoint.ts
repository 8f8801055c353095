// The underlay UDP socket: recvmmsg/sendmmsg batches through the addon.
import { native } from './native.js';
import type { PacketBatch } from './packetBatch.js';

// Bursts arrive faster than one event-loop turn drains them; a small buffer
// overflows and TCP over the overlay collapses into retransmits.
const RECEIVE_BUFFER = 8 << 20;
const SEND_BUFFER = 4 << 20;

export class UdpEndpoint {
  readonly fd: number;
  readonly port: number;
  private poller: object | null = null;

  constructor(address: string, port: number) {
    this.fd = native.udpOpen(address, port, RECEIVE_BUFFER, SEND_BUFFER);
    this.port = native.udpLocalPort(this.fd);
  }

  /** Receives up to batch.size datagrams; fills lengths, addrs, ports. Returns count or -errno. */
  receive(batch: PacketBatch): number {
    return native.udpRecv(this.fd, batch.slab, batch.slotSize, batch.headroom, batch.size, batch.lengths, batch.addrs, batch.ports);
  }

  /** Sends the batch's first `count` outgoing datagrams; returns how many left. */
  send(batch: PacketBatch, count: number): number {
    return count === 0 ? 0 : native.udpSend(this.fd, batch.slab, batch.outOffsets, batch.outLengths, batch.addrs, batch.ports, count);
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
