// Forwarding names outside our domain to the servers in /etc/resolv.conf:
// UDP first, TCP when the answer comes back truncated, SERVFAIL when every
// server fails. The list is re-read when the file changes, and never includes
// our own listening address.
import { createSocket } from 'node:dgram';
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { connect } from 'node:net';
import { isIPv4 } from '../net/ipv4.js';
import { canonicalIPv6, isIPv6 } from '../net/ipv6.js';

const TIMEOUT_MS = 2000;
/**
 * Forwards in flight at once, each holding a socket for up to 2 s: a flood of
 * names from outside our domain would otherwise hold a descriptor per query.
 * Past it, queries get SERVFAIL at once (counted as `refused`).
 */
export const MAX_IN_FLIGHT = 256;

export class Upstream {
  servers: string[] = [];
  private inFlight = 0;
  /** Queries answered SERVFAIL because MAX_IN_FLIGHT forwards were already waiting. */
  refused = 0;

  constructor(
    private readonly resolvConf: string,
    private readonly ownAddresses: Set<string>,
  ) {
    this.reload();
    watchFile(resolvConf, { interval: 1000 }, () => this.reload());
  }

  close(): void {
    unwatchFile(this.resolvConf);
  }

  reload(): void {
    let text = '';
    try {
      text = readFileSync(this.resolvConf, 'utf8');
    } catch {
      // no resolv.conf: no upstream
    }
    this.servers = text
      .split('\n')
      .map((l) => /^\s*nameserver\s+(\S+)\s*$/.exec(l)?.[1])
      .map((s) => (s === undefined ? undefined : isIPv4(s) ? s : isIPv6(s) ? canonicalIPv6(s) : undefined)) // a zone (fe80::1%eth0) is not taken
      .filter((s): s is string => s !== undefined && !this.ownAddresses.has(s));
  }

  /** The first answer from the servers in turn, or null when all fail. */
  async forward(query: Buffer): Promise<Buffer | null> {
    if (this.inFlight >= MAX_IN_FLIGHT) {
      this.refused++;
      return null;
    }
    this.inFlight++;
    try {
      return await this.ask(query);
    } finally {
      this.inFlight--;
    }
  }

  private async ask(query: Buffer): Promise<Buffer | null> {
    for (const server of this.servers) {
      const answer = await udpExchange(server, query).catch(() => null);
      if (!answer) continue;
      if (answer.readUInt16BE(2) & 0x0200) {
        const full = await tcpExchange(server, query).catch(() => null);
        if (full) return full;
      }
      return answer;
    }
    return null;
  }
}

function udpExchange(server: string, query: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIPv4(server) ? 'udp4' : 'udp6');
    const timer = setTimeout(() => done(new Error('timeout')), TIMEOUT_MS);
    const done = (error: Error | null, answer?: Buffer) => {
      clearTimeout(timer);
      socket.close();
      if (error) reject(error);
      else resolve(answer!);
    };
    socket.on('message', (msg) => {
      if (msg.length >= 2 && msg.readUInt16BE(0) === query.readUInt16BE(0)) done(null, msg);
    });
    socket.on('error', (e) => done(e));
    socket.send(query, 53, server);
  });
}

function tcpExchange(server: string, query: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect(53, server);
    const timer = setTimeout(() => socket.destroy(new Error('timeout')), TIMEOUT_MS);
    let buffered = Buffer.alloc(0);
    socket.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(query.length);
      socket.write(Buffer.concat([len, query]));
    });
    socket.on('data', (d: Buffer) => {
      buffered = Buffer.concat([buffered, d]);
      if (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        clearTimeout(timer);
        socket.destroy();
        resolve(buffered.subarray(2, 2 + buffered.readUInt16BE(0)));
      }
    });
    socket.on('error', reject);
    // Every end comes here (an error too): the timer would hold the socket until it ran.
    socket.on('close', () => {
      clearTimeout(timer);
      reject(new Error('closed'));
    });
  });
}
