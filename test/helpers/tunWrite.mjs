#!/usr/bin/env node
// tunWrite.mjs NAME ADDRESS/LEN CHECK HEX...: opens TUN NAME in this namespace with offloads,
// gives it the address, writes the packets (hex) in one batch — checkGlued when CHECK is 1 —
// and prints {"written": n, "tcpCsumErrors": d, "udpCsumErrors": d}: the kernel's counters of
// checksums that failed, after the write minus before.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { PacketBatch } from '../../dist/dataplane/packetBatch.js';
import { TunDevice } from '../../dist/dataplane/tunDevice.js';

const [name, address, check, ...hex] = process.argv.slice(2);
function csumErrors() {
  const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n');
  const of = (proto) => {
    const [head, values] = lines.filter((l) => l.startsWith(`${proto}:`)).map((l) => l.split(/\s+/));
    return Number(values[head.indexOf('InCsumErrors')]);
  };
  return { tcp: of('Tcp'), udp: of('Udp') };
}
const tun = new TunDevice(name, true, false);
execFileSync('ip', ['addr', 'add', address, 'dev', name]);
execFileSync('ip', ['link', 'set', name, 'up']);
const batch = new PacketBatch(hex.length, 2048, 0);
hex.forEach((h, i) => {
  const packet = Buffer.from(h, 'hex');
  packet.copy(batch.slab, i * 2048);
  batch.outOffsets[i] = i * 2048;
  batch.outLengths[i] = packet.length;
});
const before = csumErrors();
const written = tun.write(batch, hex.length, check === '1');
await new Promise((r) => setTimeout(r, 200));
const after = csumErrors();
tun.close();
process.stdout.write(JSON.stringify({ written, uso: tun.uso, tcpCsumErrors: after.tcp - before.tcp, udpCsumErrors: after.udp - before.udp }) + '\n');
