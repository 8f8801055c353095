#!/usr/bin/env node
// A paced UDP probe, to see an outage in lost packets:
//   pacedProbe.mjs receive PORT SECONDS    prints {"received", "lost", "longestGap"} once SECONDS have passed
//   pacedProbe.mjs send HOST PORT RATE SECONDS
// The sender numbers its datagrams and keeps to RATE per second (catching up
// after a late timer); the receiver counts what is missing between the first
// and the last number it saw, and the longest run missing (in datagrams).
import { createSocket } from 'node:dgram';

const [mode, ...args] = process.argv.slice(2);
const socket = createSocket('udp4');
if (mode === 'receive') {
  const [port, seconds] = args.map(Number);
  const seen = [];
  socket.on('message', (m) => seen.push(m.readUInt32BE(0)));
  socket.bind(port, () => {
    process.stdout.write('listening\n');
    setTimeout(() => {
      socket.close();
      seen.sort((x, y) => x - y);
      let lost = 0;
      let longestGap = 0;
      for (let i = 1; i < seen.length; i++) {
        const gap = seen[i] - seen[i - 1] - 1;
        if (gap > 0) lost += gap;
        longestGap = Math.max(longestGap, gap);
      }
      process.stdout.write(`${JSON.stringify({ received: seen.length, lost, longestGap, first: seen[0] ?? null, last: seen.at(-1) ?? null })}\n`);
    }, seconds * 1000);
  });
} else {
  const [host, port, rate, seconds] = [args[0], ...args.slice(1).map(Number)];
  const start = Date.now();
  const packet = Buffer.alloc(64);
  let sent = 0;
  const tick = () => {
    const due = Math.min(Math.floor(((Date.now() - start) / 1000) * rate), rate * seconds);
    while (sent < due) {
      packet.writeUInt32BE(sent++, 0);
      socket.send(packet, port, host);
    }
    if (sent >= rate * seconds) setTimeout(() => socket.close(), 100);
    else setTimeout(tick, 1);
  };
  tick();
}
