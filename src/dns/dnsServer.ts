// The DNS server: authoritative for the domain (weave.local.), A, AAAA and
// PTR (in-addr.arpa, ip6.arpa) from the record store; everything else
// forwarded upstream. UDP and TCP on one address. A repeated local question
// is answered from the answer cache before any parse. A message that is not
// a query we can read gets FORMERR (or, with no readable ID, nothing); the
// server goes on answering.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { ListenError } from '../errors.js';
import { isIPv4 } from '../net/ipv4.js';
import { addressOfReverseIPv6, formatIPv6 } from '../net/ipv6.js';
import { AnswerCache } from './answerCache.js';
import { UdpQueries } from './udpQueries.js';
import { type Answer, buildError, buildResponse, DnsFormatError, parseQuery, type Query, RCODE, truncate, UDP_EDNS, UDP_PLAIN, HEADER, optAt, questionEnd } from './dnsMessage.js';
import { canonicalAddress, type RecordStore } from './recordStore.js';
import type { Upstream } from './upstream.js';

const REVERSE_V4 = '.in-addr.arpa';
const REVERSE_V6 = '.ip6.arpa';

export interface DnsCounters {
  queries: number;
  local: number;
  /** Local answers that came from the answer cache (counted in `local` too). */
  cached: number;
  nxdomain: number;
  forwarded: number;
  servfail: number;
  formerr: number;
  dropped: number;
}

/**
 * How large a UDP answer to `msg` may be: 512 bytes, or with an EDNS OPT
 * record the client's size up to 1232. Read off the bytes (the OPT's class
 * is its size), so that a forwarded answer needs no parse of the query.
 */
function udpLimit(msg: Buffer): number {
  const opt = msg.length < HEADER ? -1 : optAt(msg, questionEnd(msg));
  return opt < 0 ? UDP_PLAIN : Math.min(Math.max(UDP_PLAIN, msg.readUInt16BE(opt + 3)), UDP_EDNS);
}

export class DnsServer {
  readonly counters: DnsCounters = { queries: 0, local: 0, cached: 0, nxdomain: 0, forwarded: 0, servfail: 0, formerr: 0, dropped: 0 };
  private batched: UdpQueries | null = null;
  private udp: UdpSocket | null = null;
  private tcp: Server | null = null;
  private readonly cache = new AnswerCache();

  constructor(
    private readonly store: RecordStore,
    private readonly upstream: Upstream,
    private readonly ttl: number,
  ) {}

  async listen(host: string, port: number): Promise<void> {
    if (isIPv4(host)) {
      try {
        this.batched = new UdpQueries(host, port, { answer: (msg) => this.answer(msg), udpLimit, dropped: () => void this.counters.dropped++ });
      } catch (error) {
        throw new ListenError(`DNS cannot listen on UDP ${host}:${port}`, error as Error);
      }
    } else {
      await this.listenDgram(host, port);
    }
    await this.listenTcp(host, port);
  }

  /** An IPv6 listen address: Node's socket (the addon names IPv6 sources only from a table of peers). */
  private async listenDgram(host: string, port: number): Promise<void> {
    const udp = createSocket('udp6');
    udp.on('message', (msg, from) => {
      const send = (reply: Buffer | null): void => {
        if (reply) udp.send(reply.length > udpLimit(msg) ? truncate(reply) : reply, from.port, from.address);
      };
      const reply = this.answer(msg);
      if (reply instanceof Promise) void reply.then(send);
      else send(reply);
    });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', (e: NodeJS.ErrnoException) => reject(new ListenError(`DNS cannot listen on UDP ${host}:${port}`, e)));
      udp.bind(port, host, () => resolve());
    });
    udp.on('error', () => {}); // after binding: a send to a vanished client, say
    this.udp = udp;
  }

  private async listenTcp(host: string, port: number): Promise<void> {
    const tcp = createServer((socket) => {
      let buffered = Buffer.alloc(0);
      socket.setTimeout(10_000, () => socket.destroy());
      socket.on('error', () => {});
      socket.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        if (buffered.length > 65537) return socket.destroy();
        while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
          const msg = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
          buffered = buffered.subarray(2 + msg.length);
          void Promise.resolve(this.answer(msg)).then((reply) => {
            if (!reply || socket.destroyed) return;
            const len = Buffer.alloc(2);
            len.writeUInt16BE(reply.length);
            socket.write(Buffer.concat([len, reply]));
          });
        }
      });
    });
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', (e: NodeJS.ErrnoException) => reject(new ListenError(`DNS cannot listen on TCP ${host}:${port}`, e)));
      tcp.listen(port, host, () => resolve());
    });
    this.tcp = tcp;
  }

  async close(): Promise<void> {
    this.batched?.close();
    this.udp?.close();
    await new Promise<void>((resolve) => (this.tcp ? this.tcp.close(() => resolve()) : resolve()));
  }

  /**
   * The reply to one message: at once when it is ours to answer, a promise
   * when it goes upstream, null to stay silent.
   */
  answer(msg: Buffer): Buffer | null | Promise<Buffer> {
    this.counters.queries++;
    const cached = AnswerCache.question(msg);
    if (cached) {
      const hit = this.cache.answer(msg, cached, this.store.generation);
      if (hit) {
        this.counters.local++;
        this.counters.cached++;
        if ((hit[3] & 0xf) === RCODE.nxDomain) this.counters.nxdomain++;
        return hit;
      }
    }
    let query: Query;
    try {
      query = parseQuery(msg);
    } catch (error) {
      const id = (error as DnsFormatError).id;
      if (id === null || id === undefined) {
        this.counters.dropped++;
        return null;
      }
      this.counters.formerr++;
      return buildError(id, RCODE.formErr);
    }
    if (query.opcode !== 0) return buildResponse(query, RCODE.notImp, [], false);
    const local = this.local(query);
    if (local) {
      this.counters.local++;
      if (local.rcode === RCODE.nxDomain) this.counters.nxdomain++;
      const reply = buildResponse(query, local.rcode, local.answers, true);
      if (cached && local.cacheable && reply.length <= UDP_PLAIN) this.cache.keep(cached, reply, this.store.generation);
      return reply;
    }
    return this.forward(query, msg);
  }

  /** The answer from our records, or null when the name is not ours. */
  private local(query: Query): { rcode: number; answers: Answer[]; cacheable: boolean } | null {
    const { name, type } = query;
    const domain = this.store.domain;
    if (name === domain || name.endsWith(`.${domain}`) || (name !== '' && !name.includes('.'))) {
      const fqdn = name.includes('.') ? name : `${name}.${domain}`;
      if (!this.store.has(fqdn)) return { rcode: RCODE.nxDomain, answers: [], cacheable: true };
      const v4 = type === 'A' || type === 'ANY' ? this.store.lookup(fqdn, 4) : [];
      const v6 = type === 'AAAA' || type === 'ANY' ? this.store.lookup(fqdn, 6) : [];
      const answers: Answer[] = [
        ...v4.map((ip) => ({ type: 'A' as const, ttl: this.ttl, data: ip })),
        ...v6.map((ip) => ({ type: 'AAAA' as const, ttl: this.ttl, data: ip })),
      ];
      // several addresses go out in a new order each time (round robin): not kept
      return { rcode: RCODE.noError, answers, cacheable: v4.length <= 1 && v6.length <= 1 };
    }
    if (type !== 'PTR') return null;
    const address = reverseAddress(name);
    const names = address === null ? [] : this.store.reverse(address);
    if (names.length === 0) return null;
    return { rcode: RCODE.noError, answers: names.map((n) => ({ type: 'PTR', ttl: this.ttl, data: n })), cacheable: true };
  }

  private async forward(query: Query, msg: Buffer): Promise<Buffer> {
    // A copy: the query may sit in a receive slot the next batch overwrites.
    const forwarded = await this.upstream.forward(Buffer.from(msg));
    if (forwarded) {
      this.counters.forwarded++;
      return forwarded;
    }
    this.counters.servfail++;
    return buildResponse(query, RCODE.servFail, [], false);
  }
}

/** The address a reverse name (in-addr.arpa, ip6.arpa) stands for, in canonical form, or null. */
function reverseAddress(name: string): string | null {
  if (name.endsWith(REVERSE_V4)) {
    const ip = name.slice(0, -REVERSE_V4.length).split('.').reverse().join('.');
    return isIPv4(ip) ? canonicalAddress(ip) : null;
  }
  if (name.endsWith(REVERSE_V6)) {
    const bytes = addressOfReverseIPv6(name.slice(0, -REVERSE_V6.length));
    return bytes && formatIPv6(bytes);
  }
  return null;
}
