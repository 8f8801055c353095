// One TCP control connection: hello exchange, then heartbeats and mesh
// messages. With a password, both sides then prove it: each sends a sealed
// proof under keys only the password gives, and from there every frame is
// sealed. Any malformed byte, a silent peer, a failed proof or a refusal
// closes the connection with a reason; nothing a peer sends can throw past this file.
import type { Socket } from 'node:net';
import { newKeyPair, type KeyPair } from '../crypto/nacl.js';
import { SealedChannel } from '../crypto/sealedChannel.js';
import { type DirectionKeys, sessionKeys } from '../crypto/sessionKeys.js';
import { encodeFrame, encodeJsonFrame, FrameError, FrameReader, FrameType, type FrameTypeValue } from './frames.js';
import { type Hello, isHello, judgeHello } from './handshake.js';
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

export class ControlConnection {
  /** The peer's hello, once the handshake (and with a password, the proof) succeeded. */
  peer: Hello | null = null;
  version = 0;
  closeReason: string | null = null;
  /** The peer's underlay address as this socket sees it (through a NAT: the NAT's). */
  readonly remoteIp: string;
  /** Data-path keys agreed on this connection (password set), once established. */
  dataKeys: DirectionKeys | null = null;
  private readonly reader = new FrameReader();
  private lastHeard = Date.now();
  private readonly timer: NodeJS.Timeout;
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
  ) {
    this.remoteIp = (socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    this.keyPair = password ? newKeyPair() : null;
    const hello: Hello = this.keyPair ? { ...ours, publicKey: this.keyPair.publicKey.toString('base64') } : ours;
    this.ours = hello;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.close(error.message, false));
    socket.on('close', () => this.close('connection closed by peer', false));
    socket.write(encodeJsonFrame(FrameType.hello, hello));
    const opened = Date.now();
    this.timer = setInterval(() => {
      if (!this.peer && Date.now() - opened > HELLO_TIMEOUT_MS) return this.close(this.proving ? 'no password proof within 5 s' : 'no hello within 5 s', true);
      if (Date.now() - this.lastHeard > DEAD_AFTER_MS) return this.close(`no heartbeat for ${DEAD_AFTER_MS / 1000} s`, true);
      if (this.peer) this.write(FrameType.heartbeat, Buffer.alloc(0));
    }, HEARTBEAT_MS);
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
    setTimeout(() => this.socket.destroy(), 1000).unref();
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
