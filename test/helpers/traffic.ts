// Traffic checks between lab containers: ping, and TCP transfers with checksums.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';
import type { Lab, LabContainer } from '../../src/lab/lab.js';

const TRANSFER = fileURLToPath(new URL('./transfer.mjs', import.meta.url));
const MARKER_TOOL = fileURLToPath(new URL('./udpMarker.mjs', import.meta.url));
const BURST_TOOL = fileURLToPath(new URL('./udpBurst.mjs', import.meta.url));

export async function ping(lab: Lab, from: LabContainer, to: string, count = 3): Promise<string> {
  return lab.exec(from.ns, 'ping', ['-c', String(count), '-i', '0.2', '-W', '2', to], 30_000);
}

export interface TransferResult {
  sent: { bytes: number; sha256: string };
  received: { bytes: number; sha256: string };
}

/**
 * Sends `bytes` of random data over TCP from one container to another (at
 * most `rate` bytes/s), to its IPv4 address or the `address` given (IPv6);
 * both ends report a SHA-256.
 */
export async function transfer(lab: Lab, from: LabContainer, to: LabContainer, bytes: number, port = 5001, rate = 0, address = to.ip): Promise<TransferResult> {
  const server = lab.track(spawn('ip', ['netns', 'exec', to.ns, process.execPath, TRANSFER, 'serve', String(port), address.includes(':') ? '::' : '0.0.0.0'], { stdio: ['ignore', 'pipe', 'inherit'] }));
  const serverOut = await listening(server, 'transfer server');
  const sent = JSON.parse(await lab.exec(from.ns, process.execPath, [TRANSFER, 'send', address, String(port), String(bytes), String(rate)], 60_000));
  if (server.exitCode === null) await once(server, 'exit');
  const received = JSON.parse(serverOut().split('\n').find((l) => l.startsWith('{'))!);
  return { sent, received };
}

/** Sends each text as one UDP datagram from one container to another; returns what arrived. */
export async function udpMarkers(lab: Lab, from: LabContainer, to: LabContainer, texts: string[], listenMs = 1500 + 300 * texts.length): Promise<string[]> {
  const listener = lab.track(spawn('ip', ['netns', 'exec', to.ns, process.execPath, MARKER_TOOL, 'listen', '7070', String(listenMs)], { stdio: ['ignore', 'pipe', 'inherit'] }));
  const exited = new Promise((r) => listener.once('exit', r));
  const out = await listening(listener, 'UDP listener');
  for (const text of texts) await lab.exec(from.ns, process.execPath, [MARKER_TOOL, 'send', to.ip, '7070', text]);
  await exited;
  return out().split('\n').filter((l) => l && l !== 'listening');
}

/** Sends `count` numbered UDP datagrams of about `size` bytes in bursts; returns how many arrived with their bytes intact, and how many did not. */
export async function udpBurst(lab: Lab, from: LabContainer, to: LabContainer, count: number, size: number): Promise<{ received: number; bad: number }> {
  const listener = lab.track(spawn('ip', ['netns', 'exec', to.ns, process.execPath, BURST_TOOL, 'listen', '7071', String(3000 + count)], { stdio: ['ignore', 'pipe', 'inherit'] }));
  const exited = new Promise((r) => listener.once('exit', r));
  const out = await listening(listener, 'UDP burst listener');
  await lab.exec(from.ns, process.execPath, [BURST_TOOL, 'send', to.ip, '7071', String(count), String(size)]);
  await exited;
  return JSON.parse(out().split('\n').filter((l) => l.startsWith('{'))[0]);
}

/** Waits until a helper prints "listening"; returns what it has printed, as it grows. */
async function listening(child: ChildProcess, what: string): Promise<() => string> {
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 10_000;
  while (!out.includes('listening')) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`${what} did not start`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return () => out;
}
