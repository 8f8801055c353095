#!/usr/bin/env node
// sendDatagrams.mjs HOST PORT FILE: sends each line of FILE (hex) as one UDP datagram, paced lightly.
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';

const [host, port, file] = process.argv.slice(2);
const datagrams = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((h) => Buffer.from(h, 'hex'));
const socket = createSocket('udp4');
let i = 0;
const next = () => {
  if (i === datagrams.length) return socket.close();
  socket.send(datagrams[i++], Number(port), host, (error) => {
    if (error) { console.error(error.message); process.exit(1); }
    // A short pause every 32 datagrams keeps the receiver's buffer from overflowing,
    // so every datagram sent is one the daemon must account for.
    if (i % 32 === 0) setTimeout(next, 2); else next();
  });
};
next();
