#!/usr/bin/env node
// controlFuzz.mjs HOST PORT COUNT: opens COUNT control connections (50 at a time, bounded
// by 90 s), each sending a mutated stream — a valid hello and gossip message with bytes
// changed, cut or extended, or plain random bytes — then hanging up after 200 ms.
// Prints {"streams": n}.
import { connect } from 'node:net';
import { frame } from './controlFrames.mjs';
import { randomBytes, randomInt } from 'node:crypto';

const [host, port, countText] = process.argv.slice(2);
const count = Number(countText);
const valid = Buffer.concat([
  frame(1, Buffer.from(JSON.stringify({ protocol: 'tsoverlay', minVersion: 2, maxVersion: 2, name: 'fuzzer', nickname: 'f', backend: 'vxlan', features: [] }))),
  frame(3, Buffer.from(JSON.stringify({ t: 'gossip', peers: [{ name: 'ghost', version: 3, nickname: 'g', publicIp: '10.201.0.99', controlPort: 6783, dataPort: 8472, vtepMac: null, subnet: null, connections: ['fuzzer'], departed: false }], ring: null }))),
  frame(2, Buffer.alloc(0)),
]);
function stream() {
  if (randomInt(4) === 0) return randomBytes(randomInt(1, 2048));
  const s = Buffer.from(valid);
  for (let k = randomInt(1, 8); k > 0; k--) s[randomInt(s.length)] = randomInt(256);
  const cut = randomInt(3) === 0 ? s.subarray(0, randomInt(1, s.length)) : s;
  return randomInt(3) === 0 ? Buffer.concat([cut, randomBytes(randomInt(1, 256))]) : cut;
}
const deadline = Date.now() + 90_000;
let started = 0;
let done = 0;
function one() {
  if (started >= count || Date.now() > deadline) {
    if (done === started) process.stdout.write(JSON.stringify({ streams: done }) + '\n');
    return;
  }
  started++;
  const socket = connect(Number(port), host, () => socket.write(stream()));
  socket.on('error', () => {});
  socket.on('data', () => {});
  const finish = () => { socket.destroy(); done++; one(); };
  const timer = setTimeout(finish, 200);
  socket.on('close', () => { clearTimeout(timer); if (!socket.finished) { socket.finished = true; finish(); } });
}
for (let i = 0; i < 50; i++) one();
