// DNS over UDP in batches through the addon: one recvmmsg takes up to 64
// queries, each is answered at once when it can be (our names, the answer
// cache), and the answers leave in one sendmmsg. A query that goes upstream
// is answered on its own when the upstream's reply comes back. Node's dgram
// socket costs an event, a source object and a send call per query: at tens
// of thousands a second that, not the answering, was the limit.
import { PacketBatch } from '../dataplane/packetBatch.js';
import { UdpEndpoint } from '../dataplane/udpEndpoint.js';
import { truncate, UDP_EDNS } from './dnsMessage.js';

const BATCH = 64;
/** Queries are small; one longer than this is cut by the kernel, and dropped. */
const QUERY_SLOT = 2048;
/** The largest UDP answer we send. */
const REPLY_SLOT = UDP_EDNS;
const ROUNDS_PER_WAKEUP = 4;

export interface QueryHandler {
  /** The answer, at once (or null: none), or a promise of it. */
  answer(msg: Buffer): Buffer | null | Promise<Buffer>;
  /** How large a UDP answer to `msg` may be. */
  udpLimit(msg: Buffer): number;
  /** A query that could not be read whole. */
  dropped(): void;
}

export class UdpQueries {
  private readonly endpoint: UdpEndpoint;
  private readonly queries: PacketBatch;
  private readonly replies = new PacketBatch(BATCH, REPLY_SLOT, 0);
  /** For an upstream's answer, sent alone whenever it comes. */
  private readonly single = new PacketBatch(1, REPLY_SLOT, 0);

  constructor(host: string, port: number, private readonly handler: QueryHandler) {
    this.endpoint = new UdpEndpoint(host, port, false);
    this.queries = this.endpoint.receiveBatch(BATCH, QUERY_SLOT);
    this.endpoint.onReadable(this.drain);
  }

  get port(): number {
    return this.endpoint.port;
  }

  close(): void {
    this.endpoint.close();
  }

  private readonly drain = (): void => {
    for (let round = 0; round < ROUNDS_PER_WAKEUP; round++) {
      const n = this.endpoint.receive(this.queries);
      if (n <= 0) return;
      this.handle(n);
      if (n < BATCH) return;
    }
  };

  private handle(n: number): void {
    const { queries, replies, handler } = this;
    let out = 0;
    for (let i = 0; i < n; i++) {
      const length = queries.lengths[i];
      if (length > QUERY_SLOT) {
        handler.dropped();
        continue;
      }
      const at = queries.offset(i);
      const msg = queries.slab.subarray(at, at + length);
      const limit = handler.udpLimit(msg);
      const reply = handler.answer(msg);
      if (reply === null) continue;
      if (reply instanceof Promise) {
        const [addr, port] = [queries.addrs[i], queries.ports[i]];
        void reply.then((r) => this.sendOne(r, limit, addr, port));
        continue;
      }
      this.place(replies, out, reply, limit, queries.addrs[i], queries.ports[i]);
      out++;
    }
    if (out > 0) this.endpoint.send(replies, out); // a full send buffer drops answers: the client asks again
  }

  private sendOne(reply: Buffer, limit: number, addr: number, port: number): void {
    this.place(this.single, 0, reply, limit, addr, port);
    this.endpoint.send(this.single, 1);
  }

  /** Answer k of `batch`: cut to the client's limit (TC set) if longer. */
  private place(batch: PacketBatch, k: number, reply: Buffer, limit: number, addr: number, port: number): void {
    const fitting = reply.length > limit ? truncate(reply) : reply;
    const at = k * REPLY_SLOT;
    fitting.copy(batch.slab, at, 0, Math.min(fitting.length, REPLY_SLOT));
    batch.outOffsets[k] = at;
    batch.outLengths[k] = Math.min(fitting.length, REPLY_SLOT);
    batch.addrs[k] = addr;
    batch.ports[k] = port;
  }
}
