#!/usr/bin/env node
// udpMarker.mjs listen PORT MS: prints each datagram received within MS milliseconds, one per line, then exits.
// udpMarker.mjs send HOST PORT TEXT: sends TEXT as one datagram.
import { createSocket } from 'node:dgram';

const [mode, ...args] = process.argv.slice(2);
const socket = createSocket('udp4');
if (mode === 'listen') {
  const [port, ms] = args.map(Number);
  socket.on('message', (m) => process.stdout.write(m.toString() + '\n'));
  socket.bind(port, () => {
    process.stdout.write('listening\n');
    setTimeout(() => socket.close(), ms);
  });
} else {
  const [host, port, text] = args;
  socket.send(Buffer.from(text), Number(port), host, (error) => {
    if (error) console.error(error.message);
    socket.close();
  });
}
