// The underlay UDP socket: recvmmsg/sendmmsg batches through the addon.
import { UserError } from '../errors.js';
import { peers6 } from '../net/underlayAddress.js';
import { isSystemError, native } from './native.js';
import { PacketBatch } from './packetBatch.js';
import type { UnderlayPort } from './ports.js';

/** The socket cannot be had (the port is taken, the address is not ours). */
export class UdpBindError extends UserError {}

// Bursts arrive faster than one event-loop turn drains them; a small buffer
// overflows and TCP over the overlay collapses into retransmits.
const RECEIVE_BUFFER = 8 << 20;
const SEND_BUFFER = 4 << 20;
/** With GRO: regions per receive call, each one coalesced read of up to 64 KiB. */
const GRO_REGIONS = 32;
const GRO_REGION = 65536;
/** Datagrams the addon may report per region (it splits at most 128). */
const GRO_SEGMENTS = 128;

export class UdpEndpoint implements UnderlayPort {
  readonly fd: number;
  readonly port: number;
  /** Bound to an IPv6 address: dual stack, IPv6 peers by handle (net/underlayAddress.ts), IPv4 ones v4-mapped. */
  readonly ipv6: boolean;
  private poller: object | null = null;

  constructor(
    address: string,
    port: number,
    /** UDP_GRO on receive and UDP_SEGMENT on send. */
    readonly offload = false,
    /** A predecessor's bound socket (a takeover), opened with the same address and offload. */
    handed: number | null = null,
  ) {
    try {
      this.fd = handed ?? native.udpOpen(address, port, RECEIVE_BUFFER, SEND_BUFFER, offload ? 1 : 0);
    } catch (error) {
      if (isSystemError(error)) throw new UdpBindError(`cannot bind UDP ${address}:${port}: ${error.message}`);
      throw error;
    }
    this.port = native.udpLocalPort(this.fd);
    this.ipv6 = address.includes(':');
  }

  receiveBatch(batchSize: number, slotSize: number): PacketBatch {
    return this.offload ? new PacketBatch(GRO_REGIONS, GRO_REGION, 0, undefined, GRO_REGIONS * GRO_SEGMENTS) : new PacketBatch(batchSize, slotSize, 0);
  }

  receive(batch: PacketBatch): number {
    const table = this.ipv6 ? peers6.table : undefined;
    if (this.offload) return native.udpRecvGro(this.fd, batch.slab, batch.slotSize, batch.size, batch.inOffsets, batch.lengths, batch.addrs, batch.ports, table);
    return native.udpRecv(this.fd, batch.slab, batch.slotSize, batch.headroom, batch.size, batch.lengths, batch.addrs, batch.ports, table);
  }

  send(batch: PacketBatch, count: number): number {
    if (count === 0) return 0;
    return native.udpSend(this.fd, batch.slab, batch.outOffsets, batch.outLengths, batch.addrs, batch.ports, batch.status, count, this.offload ? 1 : 0, this.ipv6 ? peers6.table : undefined);
  }

  sendCut(batch: PacketBatch, count: number, prefix: number, lengthAt = -1): number {
    if (count === 0) return 0;
    return native.udpSendCut(this.fd, batch.slab, batch.outOffsets, batch.outLengths, batch.gsoSizes, prefix, lengthAt, batch.addrs, batch.ports, batch.status, count, this.offload ? 1 : 0, this.ipv6 ? peers6.table : undefined);
  }

  setTtl(ttl: number | null): void {
    native.udpSetTtl(this.fd, ttl ?? -1);
  }

  onReadable(handler: () => void): void {
    this.poller = native.pollStart(this.fd, handler);
  }

  stopPolling(): void {
    if (this.poller) native.pollStop(this.poller);
    this.poller = null;
  }

  close(): void {
    this.stopPolling();
    native.close(this.fd);
  }
}
