#!/usr/bin/env node
// udpFuzz.mjs HOST PORT COUNT SEED_HEX: sends COUNT datagrams to HOST:PORT as fast as the
// socket takes them (bounded by COUNT and by 60 s): a third random bytes, two thirds
// mutations of SEED (a valid datagram: a few bytes changed, cut, or grown).
// Prints {"sent": n}.
import { createSocket } from 'node:dgram';
import { randomBytes, randomInt } from 'node:crypto';

const [host, port, countText, seedHex] = process.argv.slice(2);
const count = Number(countText);
const seed = Buffer.from(seedHex, 'hex');
const socket = createSocket('udp4');
socket.bind(0, () => socket.setSendBufferSize(8 << 20));
const deadline = Date.now() + 60_000;
let sent = 0;

function datagram() {
  const kind = randomInt(3);
  if (kind === 0) return randomBytes(randomInt(1, 1500));
  const d = Buffer.from(seed);
  for (let k = randomInt(1, 6); k > 0; k--) d[randomInt(d.length)] = randomInt(256);
  if (kind === 1) return d.subarray(0, randomInt(1, d.length + 1));
  return Buffer.concat([d, randomBytes(randomInt(0, 64))]);
}

function burst() {
  if (sent >= count || Date.now() > deadline) {
    socket.close();
    process.stdout.write(JSON.stringify({ sent }) + '\n');
    return;
  }
  let pending = 0;
  for (let i = 0; i < 256 && sent < count; i++, sent++) {
    pending++;
    socket.send(datagram(), Number(port), host, () => {
      if (--pending === 0) setImmediate(burst);
    });
  }
}
socket.on('listening', burst);
