// Handing received packets to the TUN, the same for both receive paths (codec
// and sleeve): one entry per inner packet, marked when its checksum needs
// finishing, and one write whose packets are counted as delivered or refused.
import { l4Start, unfinishedChecksum } from '../net/unfinishedChecksum.js';
import type { DataplaneCounters } from './counters.js';
import { countSent, type PacketBatch } from './packetBatch.js';
import type { TunPort } from './ports.js';

/** Makes the IP packet at buf[inner, inner + total) entry k of the batch for the TUN. */
export function setTunEntry(batch: PacketBatch, k: number, buf: Buffer, inner: number, total: number): void {
  const field = unfinishedChecksum(buf, inner, total);
  batch.outOffsets[k] = inner;
  batch.outLengths[k] = total;
  batch.csumStarts[k] = field === 0 ? 0 : l4Start(buf, inner);
  batch.csumOffsets[k] = field;
  batch.gsoSizes[k] = 0;
}

/**
 * Writes the batch's first `count` entries (`bytes` inner bytes in all) and counts them: rx, or `tun_write` drops.
 * checkGlued: the datagrams may have come without a UDP checksum, so only the inner ones protect the bytes (TunPort.write).
 */
export function writeToTun(tun: TunPort, batch: PacketBatch, count: number, bytes: number, counters: DataplaneCounters, checkGlued: boolean): void {
  const written = tun.write(batch, count, checkGlued);
  if (written !== count) {
    counters.drops.tun_write += count - written;
    bytes = countSent(batch, count).bytes;
  }
  counters.rx.packets += written;
  counters.rx.bytes += bytes;
}
