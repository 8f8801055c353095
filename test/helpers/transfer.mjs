#!/usr/bin/env node
// A TCP transfer with an end-to-end checksum, run inside lab namespaces.
//   transfer.mjs serve PORT [HOST]     accept one connection (on HOST, 0.0.0.0 unless given), print {"bytes","sha256"} when it ends
//   transfer.mjs send HOST PORT BYTES [RATE]  send BYTES of random data (at most RATE bytes/s), print {"bytes","sha256"}
import { createHash, randomFillSync } from 'node:crypto';
import { createServer, connect } from 'node:net';

const [mode, ...args] = process.argv.slice(2);
const report = (bytes, hash) => process.stdout.write(JSON.stringify({ bytes, sha256: hash.digest('hex') }) + '\n');

if (mode === 'serve') {
  const server = createServer((socket) => {
    const hash = createHash('sha256');
    let bytes = 0;
    socket.on('data', (chunk) => { hash.update(chunk); bytes += chunk.length; });
    socket.on('end', () => { report(bytes, hash); socket.end(); server.close(); });
  });
  server.listen(Number(args[0]), args[1] ?? '0.0.0.0', () => process.stdout.write('listening\n'));
} else if (mode === 'send') {
  const [host, port, total, rate] = [args[0], Number(args[1]), Number(args[2]), Number(args[3] ?? 0)];
  const started = Date.now();
  const hash = createHash('sha256');
  const chunk = Buffer.alloc(1 << 16);
  let sent = 0;
  const socket = connect(port, host, () => {
    const pump = () => {
      while (sent < total) {
        // Paced: ahead of RATE, wait until the clock catches up.
        if (rate > 0 && sent > (rate * (Date.now() - started)) / 1000) return setTimeout(pump, 10);
        const piece = randomFillSync(chunk).subarray(0, Math.min(chunk.length, total - sent));
        hash.update(piece);
        sent += piece.length;
        if (!socket.write(Buffer.from(piece))) return socket.once('drain', pump);
      }
      socket.end();
    };
    pump();
  });
  socket.on('close', (hadError) => { if (!hadError) report(sent, hash); });
  socket.on('error', (e) => { console.error(e.message); process.exit(1); });
} else {
  console.error('usage: transfer.mjs serve PORT | send HOST PORT BYTES');
  process.exit(2);
}
