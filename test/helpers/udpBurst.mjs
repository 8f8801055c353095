#!/usr/bin/env node
// udpBurst.mjs listen PORT MS: counts the datagrams received within MS milliseconds whose bytes are
//   what `send` put in them; prints {"received", "bad"} as JSON, then exits.
// udpBurst.mjs send HOST PORT COUNT SIZE: sends COUNT datagrams of SIZE bytes (every 7th one shorter),
//   each numbered and filled from its number, in bursts of 32 with a pause between.
import { createSocket } from 'node:dgram';

const [mode, ...args] = process.argv.slice(2);
const socket = createSocket('udp4');
const fill = (n, size) => {
  const b = Buffer.alloc(size);
  b.writeUInt32BE(n, 0);
  for (let i = 4; i < size; i++) b[i] = (n * 31 + i) & 0xff;
  return b;
};
if (mode === 'listen') {
  const [port, ms] = args.map(Number);
  let received = 0;
  let bad = 0;
  socket.on('message', (m) => {
    if (m.length >= 4 && fill(m.readUInt32BE(0), m.length).equals(m)) received++;
    else bad++;
  });
  socket.bind(port, () => {
    process.stdout.write('listening\n');
    setTimeout(() => {
      process.stdout.write(JSON.stringify({ received, bad }) + '\n');
      socket.close();
    }, ms);
  });
} else {
  const [host, port, count, size] = [args[0], ...args.slice(1).map(Number)];
  let n = 0;
  const burst = () => {
    for (let k = 0; k < 32 && n < count; k++, n++) socket.send(fill(n, n % 7 === 6 ? size - 100 : size), port, host);
    if (n < count) setTimeout(burst, 3);
    else setTimeout(() => socket.close(), 100);
  };
  burst();
}
