#!/usr/bin/env node
// dnsLoad.mjs SERVER NAME SECONDS CONCURRENCY: keeps CONCURRENCY A queries for
// NAME in flight against SERVER:53 for SECONDS (bounded), prints
// {"qps","p50","p99","timeouts"} (latencies in microseconds).
import { createSocket } from 'node:dgram';

const [server, name, seconds, concurrency] = [process.argv[2], process.argv[3], Number(process.argv[4]), Number(process.argv[5])];
const question = Buffer.concat([...name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0, 0, 1, 0, 1])]);
const socket = createSocket('udp4');
const sentAt = new Map();
const latencies = [];
let nextId = 0;
let timeouts = 0;
const end = Date.now() + seconds * 1000;
function send() {
  if (Date.now() >= end) return;
  const id = nextId++ & 0xffff;
  const q = Buffer.alloc(12 + question.length);
  q.writeUInt16BE(id, 0);
  q.writeUInt16BE(0x0100, 2);
  q.writeUInt16BE(1, 4);
  question.copy(q, 12);
  sentAt.set(id, process.hrtime.bigint());
  socket.send(q, 53, server);
}
socket.on('message', (m) => {
  const t = sentAt.get(m.readUInt16BE(0));
  if (t === undefined) return;
  sentAt.delete(m.readUInt16BE(0));
  latencies.push(Number(process.hrtime.bigint() - t) / 1000);
  send();
});
// A query lost for 1 s is counted and replaced, so the load never stalls.
const sweeper = setInterval(() => {
  const now = process.hrtime.bigint();
  for (const [id, t] of sentAt) if (now - t > 1_000_000_000n) { sentAt.delete(id); timeouts++; send(); }
}, 250);
socket.bind(() => { for (let i = 0; i < concurrency; i++) send(); });
setTimeout(() => {
  clearInterval(sweeper);
  socket.close();
  latencies.sort((a, b) => a - b);
  const pick = (p) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? null;
  console.log(JSON.stringify({ qps: latencies.length / seconds, p50: pick(0.5), p99: pick(0.99), timeouts }));
}, seconds * 1000 + 300);
