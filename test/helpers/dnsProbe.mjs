#!/usr/bin/env node
// dnsProbe.mjs SERVER KIND: sends one malformed message over UDP and prints
// {"rcode": n} for the reply, or {"rcode": null} when none came in 1 s.
import { createSocket } from 'node:dgram';

const [server, kind] = process.argv.slice(2);
const header = (id, qd, an = 0) => { const h = Buffer.alloc(12); h.writeUInt16BE(id, 0); h.writeUInt16BE(0x0100, 2); h.writeUInt16BE(qd, 4); h.writeUInt16BE(an, 6); return h; };
const q = (name) => Buffer.concat([...name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0, 0, 1, 0, 1])]);
const messages = {
  short: Buffer.from([1, 2, 3, 4, 5]),
  'truncated-question': Buffer.concat([header(7, 1), Buffer.from([3, 119, 101])]),
  'compression-loop': Buffer.concat([header(8, 1), Buffer.from([0xc0, 12, 0, 1, 0, 1])]),
  'absurd-counts': Buffer.concat([header(9, 65535, 65535), q('web.weave.local')]),
  'no-question': header(10, 0),
  response: (() => { const m = Buffer.concat([header(11, 1), q('web.weave.local')]); m.writeUInt16BE(0x8100, 2); return m; })(),
  'long-label': Buffer.concat([header(12, 1), Buffer.from([0x7f]), Buffer.alloc(0x7f, 97), Buffer.from([0, 0, 1, 0, 1])]),
};
const s = createSocket('udp4');
const timer = setTimeout(() => { console.log(JSON.stringify({ rcode: null })); process.exit(0); }, 1000);
s.on('message', (m) => { clearTimeout(timer); console.log(JSON.stringify({ rcode: m.length >= 4 ? m.readUInt16BE(2) & 0xf : null })); process.exit(0); });
s.send(messages[kind], 53, server);
