// The DNS server: authoritative for the domain (weave.local.), A and PTR from
// the record store; everything else forwarded upstream. UDP and TCP on one
// address. A message that is not a query we can read gets FORMERR (or, with
// no readable ID, nothing); the server goes on answering.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { ListenError } from '../errors.js';
import { buildError, buildResponse, DnsFormatError, parseQuery, type Query, RCODE, truncate, TYPE } from './dnsMessage.js';
import type { RecordStore } from './recordStore.js';
import type { Upstream } from './upstream.js';

const UDP_LIMIT = 512;
const REVERSE_SUFFIX = '.in-addr.arpa';

export interface DnsCounters {
  queries: number;
  local: number;
  nxdomain: number;
  forwarded: number;
  servfail: number;
  formerr: number;
  dropped: number;
}

export class DnsServer {
  readonly counters: DnsCounters = { queries: 0, local: 0, nxdomain: 0, forwarded: 0, servfail: 0, formerr: 0, dropped: 0 };
  private udp: UdpSocket | null = null;
  private tcp: Server | null = null;

  constructor(
    private readonly store: RecordStore,
    private readonly upstream: Upstream,
    private readonly ttl: number,
  ) {}

  async listen(host: string, port: number): Promise<void> {
    const udp = createSocket('udp4');
    udp.on('message', (msg, from) => {
      void this.answer(msg).then((reply) => {
        if (reply) udp.send(reply.length > UDP_LIMIT ? truncate(reply, parseQuery(msg)) : reply, from.port, from.address);
      });
    });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', (e: NodeJS.ErrnoException) => reject(new ListenError(`DNS cannot listen on UDP ${host}:${port}`, e)));
      udp.bind(port, host, () => resolve());
    });
    udp.on('error', () => {}); // after binding: a send to a vanished client, say
    this.udp = udp;
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
          void this.answer(msg).then((reply) => {
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
    this.udp?.close();
    await new Promise<void>((resolve) => (this.tcp ? this.tcp.close(() => resolve()) : resolve()));
  }

  /** The reply to one message, or null to stay silent. */
  async answer(msg: Buffer): Promise<Buffer | null> {
    this.counters.queries++;
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
    const { name, type } = query.question;
    const domain = this.store.domain;

    if (name === domain || name.endsWith(`.${domain}`) || (name !== '' && !name.includes('.'))) {
      const fqdn = name.includes('.') ? name : `${name}.${domain}`;
      this.counters.local++;
      if (!this.store.has(fqdn)) {
        this.counters.nxdomain++;
        return buildResponse(query, RCODE.nxDomain, [], true);
      }
      const answers = type === TYPE.A || type === TYPE.ANY ? this.store.lookup(fqdn).map((ip) => ({ type: TYPE.A, ttl: this.ttl, data: ip })) : [];
      return buildResponse(query, RCODE.noError, answers, true);
    }
    if (type === TYPE.PTR && name.endsWith(REVERSE_SUFFIX)) {
      const octets = name.slice(0, -REVERSE_SUFFIX.length).split('.');
      const names = octets.length === 4 ? this.store.reverse(octets.reverse().join('.')) : [];
      if (names.length > 0) {
        this.counters.local++;
        return buildResponse(query, RCODE.noError, names.map((n) => ({ type: TYPE.PTR, ttl: this.ttl, data: n })), true);
      }
    }
    const forwarded = await this.upstream.forward(msg);
    if (forwarded) {
      this.counters.forwarded++;
      return forwarded;
    }
    this.counters.servfail++;
    return buildResponse(query, RCODE.servFail, [], false);
  }
}
