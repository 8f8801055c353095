#!/usr/bin/env node
// dnsStub.mjs IP: a stub upstream DNS server for the forwarding tests, on IP:53 (UDP and TCP).
// Any name gets one A record, 192.0.2.1; names starting "big" get 40 records, too many for
// 512 bytes: over UDP the answer comes back truncated (TC), over TCP whole.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

const ip = process.argv[2];
function answer(query, udp) {
  let at = 12;
  const labels = [];
  while (query[at] !== 0) { labels.push(query.toString('latin1', at + 1, at + 1 + query[at])); at += 1 + query[at]; }
  const qend = at + 5;
  const big = labels[0]?.startsWith('big');
  const count = big ? 40 : 1;
  const head = Buffer.from(query.subarray(0, 12));
  head.writeUInt16BE(0x8180 | (big && udp ? 0x0200 : 0), 2);
  head.writeUInt16BE(1, 4);
  head.writeUInt16BE(big && udp ? 0 : count, 6);
  head.writeUInt16BE(0, 8);
  head.writeUInt16BE(0, 10);
  const rrs = [];
  if (!(big && udp)) for (let i = 0; i < count; i++) rrs.push(Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1 + i]));
  return Buffer.concat([head, query.subarray(12, qend), ...rrs]);
}
const udp = createSocket('udp4');
udp.on('message', (msg, from) => udp.send(answer(msg, true), from.port, from.address));
udp.bind(53, ip, () => {
  createServer((s) => {
    let buf = Buffer.alloc(0);
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const reply = answer(buf.subarray(2, 2 + buf.readUInt16BE(0)), false);
        const len = Buffer.alloc(2);
        len.writeUInt16BE(reply.length);
        s.end(Buffer.concat([len, reply]));
      }
    });
    s.on('error', () => {});
  }).listen(53, ip, () => console.log('listening'));
});
