#!/usr/bin/env node
// controlProbe.mjs HOST PORT MODE: opens a control connection, sends something
// bad (MODE), and prints {"closed": bool, "refusal": string|null} once the
// daemon has hung up (or after 6 s).
import { connect } from 'node:net';
import { frame } from './controlFrames.mjs';
import { randomBytes } from 'node:crypto';

const [host, port, mode] = process.argv.slice(2);
const hello = (over = {}) => frame(1, Buffer.from(JSON.stringify({ protocol: 'tsoverlay', minVersion: 2, maxVersion: 2, name: `probe-${process.pid}`, nickname: 'probe', backend: 'sleeve', features: [], ...over })));
const payloads = {
  garbage: () => [randomBytes(4096)],
  truncated: () => [hello().subarray(0, 7)],
  oversized: () => [Buffer.from([0xff, 0xff, 0xff, 0xf0, 3])],
  'zero-length': () => [Buffer.from([0, 0, 0, 0])],
  'bad-type': () => [frame(9, Buffer.from('{}'))],
  'bad-json-hello': () => [frame(1, Buffer.from('{"protocol": '))],
  'message-before-hello': () => [frame(3, Buffer.from('{"t":"gossip","peers":[],"ring":null}'))],
  'bad-message': () => [hello(), frame(3, Buffer.from('{"t":"gossip","peers":[{"name":1}],"ring":null}'))],
  'future-version': () => [hello({ minVersion: 7, maxVersion: 9 })],
};
const socket = connect(Number(port), host, () => {
  for (const chunk of payloads[mode]()) socket.write(chunk);
  if (mode === 'truncated') setTimeout(() => socket.end(), 200);
});
let received = Buffer.alloc(0);
socket.on('data', (d) => (received = Buffer.concat([received, d])));
const timer = setTimeout(() => finish(false), 6000);
socket.on('close', () => finish(true));
socket.on('error', () => {});
function finish(closed) {
  clearTimeout(timer);
  // Find a refusal frame (type 4) among what the daemon sent.
  let refusal = null;
  for (let at = 0; at + 5 <= received.length; ) {
    const len = received.readUInt32BE(at);
    if (received[at + 4] === 4) refusal = JSON.parse(received.subarray(at + 5, at + 4 + len).toString()).reason;
    at += 4 + len;
  }
  process.stdout.write(JSON.stringify({ closed, refusal }) + '\n');
  socket.destroy();
  process.exit(0);
}
