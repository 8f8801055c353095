// A control connection refused over real loopback TCP: the stranger is told
// why, and the connection is let go as soon as its socket closes — nothing
// the close left running holds it. A peer that does not hang up is cut.
import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConnectionEvents, ControlConnection } from '../../src/mesh/controlConnection.js';
import { encodeFrame, FrameReader, FrameType } from '../../src/mesh/frames.js';
import { type Hello, MAX_VERSION, MIN_VERSION, PROTOCOL } from '../../src/mesh/handshake.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const OURS: Hello = { protocol: PROTOCOL, minVersion: MIN_VERSION, maxVersion: MAX_VERSION, name: 'a', nickname: 'a', backend: 'udp' };

let server: Server;
let port: number;
/** Each accepted connection, held weakly, with its socket's close and its close reason. */
const accepted: { ref: WeakRef<ControlConnection>; closed: Promise<unknown>; reason: Promise<string> }[] = [];

beforeAll(async () => {
  server = createServer((socket) => {
    let reasonOf: (reason: string) => void = () => {};
    const reason = new Promise<string>((resolve) => (reasonOf = resolve));
    const events: ConnectionEvents = { established: () => {}, message: () => {}, closed: (_c, why) => reasonOf(why) };
    accepted.push({ ref: new WeakRef(new ControlConnection(socket, false, 'test', OURS, null, events)), closed: once(socket, 'close'), reason });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
});
afterAll(() => server.close());

/** A stranger whose first frame is not a hello; returns its socket and the frames it got. */
async function stranger(allowHalfOpen: boolean): Promise<{ socket: Socket; frames: { type: number; payload: Buffer }[] }> {
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen });
  await once(socket, 'connect');
  const reader = new FrameReader();
  const frames: { type: number; payload: Buffer }[] = [];
  socket.on('data', (chunk: Buffer) => frames.push(...reader.push(chunk)));
  socket.write(encodeFrame(FrameType.message, Buffer.from('{}')));
  return { socket, frames };
}

describe('a refused control connection', () => {
  it('tells the stranger why, and is let go once the stranger hangs up', async () => {
    const { socket, frames } = await stranger(false);
    await once(socket, 'close');
    const { ref, closed, reason } = accepted.at(-1)!;
    expect(await reason).toBe('first frame is not a hello');
    expect(frames.map((f) => f.type)).toEqual([FrameType.hello, FrameType.refuse]);
    expect(JSON.parse(frames[1].payload.toString())).toEqual({ reason: 'first frame is not a hello' });
    await closed;
    // Well within the second a stranger that stays is given: nothing but the closed socket held the connection.
    await new Promise((r) => setImmediate(r));
    gc();
    expect(ref.deref()).toBeUndefined();
  });

  it('is cut when the stranger does not hang up', async () => {
    const { socket } = await stranger(true);
    await once(socket, 'end');
    const { closed, reason } = accepted.at(-1)!;
    expect(await reason).toBe('first frame is not a hello');
    // Our side destroys its socket after a second, with the stranger's half still open.
    await closed;
    expect(socket.destroyed).toBe(false);
    socket.destroy();
  });
});
