// Underlay captures with tcpdump, and the UDP payloads read back out of the pcap file.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab, LabHost } from '../../src/lab/lab.js';
import { formatIPv6 } from '../../src/net/ipv6.js';

export interface Capture {
  file: string;
  stop(): Promise<void>;
}

/** Captures whole packets on every interface of a host that match `filter`. */
export async function capture(lab: Lab, host: LabHost, filter: string, name: string): Promise<Capture> {
  const file = join(lab.dir, `${name}.pcap`);
  const child = lab.track(spawn('ip', ['netns', 'exec', host.ns, 'tcpdump', '-i', 'any', '-U', '-s', '0', '-w', file, filter], { stdio: ['ignore', 'ignore', 'pipe'] }));
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const deadline = Date.now() + 10_000;
  while (!err.includes('listening on')) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`tcpdump did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    file,
    stop: async () => {
      await new Promise((r) => setTimeout(r, 200)); // let the last packets be written
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGINT');
      await exited;
    },
  };
}

export interface CapturedDatagram {
  src: string;
  dst: string;
  dstPort: number;
  payload: Buffer;
}

/** UDP datagrams (over IPv4 or IPv6) in a pcap written by `tcpdump -i any` (Linux cooked captures, v1 or v2). */
export function udpDatagrams(file: string): CapturedDatagram[] {
  const data = readFileSync(file);
  const linkType = data.readUInt32LE(20);
  const linkHeader = linkType === 113 ? 16 : linkType === 276 ? 20 : linkType === 1 ? 14 : -1;
  if (linkHeader < 0) throw new Error(`unexpected pcap link type ${linkType}`);
  const out: CapturedDatagram[] = [];
  for (let at = 24; at + 16 <= data.length; ) {
    const captured = data.readUInt32LE(at + 8);
    const packet = data.subarray(at + 16, at + 16 + captured);
    at += 16 + captured;
    const ip = packet.subarray(linkHeader);
    // Over an IPv6 underlay: the UDP header right after the IPv6 one (no extension headers).
    if (ip.length >= 48 && ip[0] >> 4 === 6 && ip[6] === 17) {
      out.push({
        src: formatIPv6(ip.subarray(8, 24)),
        dst: formatIPv6(ip.subarray(24, 40)),
        dstPort: ip.readUInt16BE(42),
        payload: Buffer.from(ip.subarray(48, 40 + ip.readUInt16BE(4))),
      });
      continue;
    }
    if (ip.length < 28 || ip[0] >> 4 !== 4 || ip[9] !== 17) continue;
    const ihl = (ip[0] & 15) * 4;
    const total = ip.readUInt16BE(2);
    out.push({
      src: [...ip.subarray(12, 16)].join('.'),
      dst: [...ip.subarray(16, 20)].join('.'),
      dstPort: ip.readUInt16BE(ihl + 2),
      payload: Buffer.from(ip.subarray(ihl + 8, total)),
    });
  }
  return out;
}
