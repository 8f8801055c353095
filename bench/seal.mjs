#!/usr/bin/env node
// Sealing and opening sleeve datagrams: the addon's batches (the secretbox
// with its keystream in whole 512-byte steps, native-bindings/src/seal.c)
// beside libsodium's own crypto_secretbox_detached through sodium-native, one
// call per datagram, in the same run; µs per datagram at several sizes. Every
// box is first checked byte for byte against libsodium's.
//   node bench/seal.mjs [--batch 64] [--milliseconds 500]
import { parseArgs } from 'node:util';
import sodium from 'sodium-native';
import { native } from '../dist/dataplane/native.js';

const { values } = parseArgs({ options: { batch: { type: 'string', default: '64' }, milliseconds: { type: 'string', default: '500' } } });
const batch = Number(values.batch);
const milliseconds = Number(values.milliseconds);
const SIZES = [64, 200, 600, 1448, 9000];
const { SEAL_NONCE_AT: NONCE_AT, SEAL_NONCE_SOURCE: NONCE_SOURCE, SEAL_MAC_AT: MAC_AT, SEAL_TEXT_AT: TEXT_AT } = native;

/** µs per datagram of `run`, which handles `count` datagrams a call, over `milliseconds`. */
function time(run, count) {
  for (let i = 0; i < 50; i++) run(); // warm
  let calls = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(milliseconds) * 1_000_000n;
  let now = start;
  while (now < end) {
    for (let i = 0; i < 20; i++) run();
    calls += 20;
    now = process.hrtime.bigint();
  }
  return Number(now - start) / 1000 / (calls * count);
}

const rows = [];
for (const size of SIZES) {
  const slot = TEXT_AT + size;
  const slab = Buffer.alloc(batch * slot);
  const starts = new Uint32Array(batch).map((_, i) => i * slot);
  const lengths = new Uint32Array(batch).fill(size);
  const keys = Buffer.alloc(batch * 32);
  sodium.randombytes_buf(slab);
  sodium.randombytes_buf(keys);
  const ok = new Uint8Array(batch);

  // The same bytes as libsodium's box, for every datagram of the batch.
  const plain = Buffer.from(slab);
  native.sealBatch(slab, starts, lengths, keys, batch);
  for (let i = 0; i < batch; i++) {
    const d = plain.subarray(starts[i], starts[i] + slot);
    const nonce = Buffer.alloc(sodium.crypto_secretbox_NONCEBYTES);
    d.copy(nonce, 0, NONCE_AT, NONCE_AT + NONCE_SOURCE);
    const c = Buffer.alloc(size);
    const mac = Buffer.alloc(sodium.crypto_secretbox_MACBYTES);
    sodium.crypto_secretbox_detached(c, mac, d.subarray(TEXT_AT), nonce, keys.subarray(i * 32, i * 32 + 32));
    const mine = slab.subarray(starts[i], starts[i] + slot);
    if (!mine.subarray(TEXT_AT).equals(c) || !mine.subarray(MAC_AT, MAC_AT + 16).equals(mac)) throw new Error(`size ${size}: not libsodium's box`);
  }
  if (native.openBatch(slab, starts, lengths, keys, batch, ok) !== batch) throw new Error(`size ${size}: did not open`);
  for (const at of starts) if (!slab.subarray(at + TEXT_AT, at + slot).equals(plain.subarray(at + TEXT_AT, at + slot))) throw new Error(`size ${size}: opened wrong`);

  const seal = time(() => native.sealBatch(slab, starts, lengths, keys, batch), batch);
  // Opening what was just sealed: seal and open take turns, so each open authenticates.
  const sealOpen = time(() => {
    native.sealBatch(slab, starts, lengths, keys, batch);
    native.openBatch(slab, starts, lengths, keys, batch, ok);
  }, batch);
  const text = slab.subarray(TEXT_AT, TEXT_AT + size);
  const nonce = Buffer.alloc(sodium.crypto_secretbox_NONCEBYTES);
  const mac = Buffer.alloc(sodium.crypto_secretbox_MACBYTES);
  const key = keys.subarray(0, 32);
  const reference = time(() => {
    for (let i = 0; i < batch; i++) sodium.crypto_secretbox_detached(text, mac, text, nonce, key);
  }, batch);
  rows.push([size, seal, sealOpen - seal, reference]);
}

const header = ['bytes', 'addon seal µs', 'addon open µs', 'libsodium crypto_secretbox_detached µs (sodium-native, a call each)', 'x libsodium'];
const table = [header, header.map(() => '---'), ...rows.map(([size, seal, open, ref]) => [size, seal.toFixed(3), open.toFixed(3), ref.toFixed(3), (seal / ref).toFixed(2)])]
  .map((r) => `| ${r.join(' | ')} |`)
  .join('\n');
process.stdout.write(`Per datagram, batches of ${batch}, ${milliseconds} ms a figure; every box checked against libsodium's first.\n\n${table}\n`);
