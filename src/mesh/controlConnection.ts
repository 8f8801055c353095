// One TCP control connection: hello exchange, then heartbeats and mesh
// messages. With a password, both sides then prove it: each sends a sealed
// proof under keys only the password gives, and from there every frame is
// sealed. Any malformed byte, a silent peer, a failed proof or a refusal
// closes the connection with a reason; nothing a peer sends can throw past this file.
import type { Socket } from 'node:net';
import { newKeyPair, type KeyPair } from '../crypto/nacl.js';
import { type ChannelState, SealedChannel } from '../crypto/sealedChannel.js';
import { type DirectionKeys, sessionKeys } from '../crypto/sessionKeys.js';
import { encodeFrame, encodeJsonFrame, FrameError, FrameReader, FrameType, type FrameTypeValue } from './frames.js';
import { type Hello, isHello, judgeHello } from './handshake.js';
import { descriptorOf, startReading, stopReading } from './socketHandle.js';
import { type MeshMessage, MessageError, parseMessage } from './messages.js';

export const HEARTBEAT_MS = 1000;
export const DEAD_AFTER_MS = 4000;
const HELLO_TIMEOUT_MS = 5000;
const PROOF = Buffer.from('tsoverlay password proof');

export interface ConnectionEvents {
  established(connection: ControlConnection): void;
  message(connection: ControlConnection, message: MeshMessage): void;
  closed(connection: ControlConnection, reason: string): void;
}

/**
 * An established connection as a successor goes on with it (a takeover): the
 * socket is the same, so the peer sees nothing; the stream goes on where this
 * process stopped reading and writing it.
 */
export interface ConnectionHandover {
  outbound: boolean;
  address: string;
  peer: Hello;
  version: number;
  channel: ChannelState | null;
  dataKeys: DirectionKeys | null;
  /** Bytes read of a frame not yet whole. */
  leftover: Buffer;
}

export class ControlConnection {
  /** The peer's hello, once the handshake (and with a password, the proof) succeeded. */
  peer: Hello | null = null;
  version = 0;
  closeReason: string | null = null;
  /** The peer's underlay address as this socket sees it (through a NAT: the NAT's). */
  readonly remoteIp: string;
  /** Data-path keys agreed on this connection (password set), once established. */
  dataKeys: DirectionKeys | null = null;
  private readonly reader: FrameReader;
  private lastHeard = Date.now();
  private timer: NodeJS.Timeout;
  private readonly keyPair: KeyPair | null;
  /** A hello accepted while its sender has still to prove the password. */
  private proving: Hello | null = null;
  private channel: SealedChannel | null = null;

  constructor(
    readonly socket: Socket,
    readonly outbound: boolean,
    readonly address: string,
    private readonly ours: Hello,
    private readonly password: Buffer | null,
    private readonly events: ConnectionEvents,
    /** An established connection a predecessor handed over: no hello, the stream goes on. */
    resumed?: ConnectionHandover,
  ) {
    this.remoteIp = (socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    this.keyPair = password && !resumed ? newKeyPair() : null;
    const hello: Hello = this.keyPair ? { ...ours, publicKey: this.keyPair.publicKey.toString('base64') } : ours;
    this.ours = hello;
    this.reader = new FrameReader(resumed?.leftover);
    if (resumed) {
      this.peer = resumed.peer;
      this.version = resumed.version;
      this.channel = resumed.channel && new SealedChannel(resumed.channel.keys, resumed.channel);
      this.dataKeys = resumed.dataKeys;
    }
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.close(error.message, false));
    socket.on('close', () => this.close('connection closed by peer', false));
    if (!resumed) socket.write(encodeJsonFrame(FrameType.hello, hello));
    this.timer = this.startTimer(Date.now());
  }

  private startTimer(opened: number): NodeJS.Timeout {
    return setInterval(() => {
      if (!this.peer && Date.now() - opened > HELLO_TIMEOUT_MS) return this.close(this.proving ? 'no password proof within 5 s' : 'no hello within 5 s', true);
      if (Date.now() - this.lastHeard > DEAD_AFTER_MS) return this.close(`no heartbeat for ${DEAD_AFTER_MS / 1000} s`, true);
      if (this.peer) this.write(FrameType.heartbeat, Buffer.alloc(0));
    }, HEARTBEAT_MS);
  }

  /**
   * Stops reading and writing for a successor, and returns what it needs to
   * go on; null when this connection cannot be handed over (its handshake is
   * not done, or bytes wait to be written): the successor dials again.
   * `thaw` undoes it when the successor failed.
   */
  freeze(): ConnectionHandover | null {
    if (!this.established || this.socket.writableLength > 0) return null;
    // Every byte read so far went through onData already (the socket flows): what the kernel holds is the successor's.
    if (!stopReading(this.socket)) return null;
    clearInterval(this.timer);
    return { outbound: this.outbound, address: this.address, peer: this.peer!, version: this.version, channel: this.channel?.state() ?? null, dataKeys: this.dataKeys, leftover: this.reader.leftover() };
  }

  thaw(): void {
    if (this.closeReason !== null) return;
    startReading(this.socket);
    clearInterval(this.timer);
    this.lastHeard = Date.now();
    this.timer = this.startTimer(Date.now());
  }

  /** The descriptor a successor is handed. */
  get fd(): number {
    return descriptorOf(this.socket);
  }

  get established(): boolean {
    return this.peer !== null && this.closeReason === null;
  }

  get encrypted(): boolean {
    return this.channel !== null;
  }

  send(message: MeshMessage): void {
    if (this.established) this.write(FrameType.message, Buffer.from(JSON.stringify(message), 'utf8'));
  }

  /** Ends the connection, telling the peer why when `tell` is set. */
  close(reason: string, tell: boolean): void {
    if (this.closeReason !== null) return;
    this.closeReason = reason;
    clearInterval(this.timer);
    if (tell && !this.socket.destroyed) {
      // A peer that failed the proof cannot open sealed frames: it is told in the clear.
      const refusal = Buffer.from(JSON.stringify({ reason }), 'utf8');
      this.socket.end(this.peer && this.channel ? this.sealedFrame(FrameType.refuse, refusal) : encodeFrame(FrameType.refuse, refusal));
    }
    // A peer that does not hang up is cut after a second. One that does frees the connection at once: a
    // timer left running held every closed connection for that second, ≈ 2,000 under a flood of refused streams.
    if (!this.socket.destroyed) {
      const destroyLater = setTimeout(() => this.socket.destroy(), 1000).unref();
      this.socket.once('close', () => clearTimeout(destroyLater));
    }
    this.events.closed(this, reason);
  }

  private write(type: FrameTypeValue, payload: Buffer): void {
    this.socket.write(this.channel ? this.sealedFrame(type, payload) : encodeFrame(type, payload));
  }

  private sealedFrame(type: FrameTypeValue, payload: Buffer): Buffer {
    return encodeFrame(FrameType.sealed, this.channel!.seal(Buffer.concat([Buffer.of(type), payload])));
  }

  private onData(chunk: Buffer): void {
    if (this.closeReason !== null) return;
    this.lastHeard = Date.now();
    let frames;
    try {
      frames = this.reader.push(chunk);
    } catch (error) {
      return this.close(`bad frame: ${(error as FrameError).message}`, true);
    }
    for (const frame of frames) {
      if (this.closeReason !== null) return;
      this.onFrame(frame.type, frame.payload);
    }
  }

  private onFrame(type: number, payload: Buffer): void {
    if (this.channel) {
      // Past the hello, a password peer takes sealed frames only, and a plain refusal while proving.
      if (type === FrameType.refuse && this.proving) return this.refused(payload);
      if (type !== FrameType.sealed) return this.close(`unsealed frame (type ${type}) on an encrypted connection`, true);
      const plain = this.channel.open(payload);
      if (plain === null || plain.length < 1) {
        const who = this.proving ? `peer ${this.proving.name} (${this.address})` : `peer ${this.peer!.name} (${this.address})`;
        return this.close(this.proving ? `wrong password: ${who} sealed its proof with another password` : `a frame from ${who} failed to authenticate`, true);
      }
      type = plain[0];
      payload = plain.subarray(1);
      if (this.proving) return this.onProof(type, payload);
    } else if (type === FrameType.sealed) {
      return this.close('sealed frame on a connection without a password', true);
    }
    if (type === FrameType.heartbeat) return;
    if (type === FrameType.refuse) return this.refused(payload);
    if (!this.peer) {
      if (type !== FrameType.hello) return this.close('first frame is not a hello', true);
      return this.onHello(parseJson(payload));
    }
    if (type !== FrameType.message) return this.close(`unexpected frame type ${type} after hello`, true);
    let message: MeshMessage;
    try {
      message = parseMessage(parseJson(payload));
    } catch (error) {
      return this.close(`bad message: ${(error as MessageError).message}`, true);
    }
    this.events.message(this, message);
  }

  private onHello(hello: unknown): void {
    if (!isHello(hello)) return this.close('malformed hello', true);
    const verdict = judgeHello(this.ours, hello);
    if (!verdict.ok) return this.close(verdict.reason, true);
    this.version = verdict.version;
    if (!this.keyPair) return this.establish(hello);
    const theirKey = Buffer.from(hello.publicKey!, 'base64');
    if (theirKey.length !== 32) return this.close(`peer ${hello.name} sent a malformed public key`, true);
    let keys;
    try {
      keys = sessionKeys(this.keyPair, theirKey, this.password!);
    } catch {
      return this.close(`peer ${hello.name} sent a weak public key`, true);
    }
    this.channel = new SealedChannel(keys.control);
    this.dataKeys = keys.data;
    this.proving = hello;
    this.write(FrameType.hello, PROOF);
  }

  private onProof(type: number, payload: Buffer): void {
    if (type !== FrameType.hello || !payload.equals(PROOF)) return this.close(`peer ${this.proving!.name} sent no password proof`, true);
    const hello = this.proving!;
    this.proving = null;
    this.establish(hello);
  }

  private establish(hello: Hello): void {
    this.peer = hello;
    this.events.established(this);
  }

  private refused(payload: Buffer): void {
    const reason = parseJson(payload) as { reason?: unknown } | undefined;
    this.close(`refused by peer: ${typeof reason?.reason === 'string' ? reason.reason.slice(0, 200) : 'no reason given'}`, false);
  }
}

function parseJson(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
}
