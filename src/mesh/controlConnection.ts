// One TCP control connection: hello exchange, then heartbeats and mesh
// messages. Any malformed byte, a silent peer or a refusal closes it with a
// reason; nothing a peer sends can throw past this file.
import type { Socket } from 'node:net';
import { encodeFrame, encodeJsonFrame, FrameError, FrameReader, FrameType } from './frames.js';
import { type Hello, isHello, judgeHello } from './handshake.js';
import { type MeshMessage, MessageError, parseMessage } from './messages.js';

export const HEARTBEAT_MS = 1000;
export const DEAD_AFTER_MS = 4000;
const HELLO_TIMEOUT_MS = 5000;

export interface ConnectionEvents {
  established(connection: ControlConnection): void;
  message(connection: ControlConnection, message: MeshMessage): void;
  closed(connection: ControlConnection, reason: string): void;
}

export class ControlConnection {
  peer: Hello | null = null;
  version = 0;
  closeReason: string | null = null;
  private readonly reader = new FrameReader();
  private lastHeard = Date.now();
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly socket: Socket,
    readonly outbound: boolean,
    readonly address: string,
    private readonly ours: Hello,
    private readonly events: ConnectionEvents,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.close(error.message, false));
    socket.on('close', () => this.close('connection closed by peer', false));
    socket.write(encodeJsonFrame(FrameType.hello, ours));
    const opened = Date.now();
    this.timer = setInterval(() => {
      if (!this.peer && Date.now() - opened > HELLO_TIMEOUT_MS) return this.close('no hello within 5 s', true);
      if (Date.now() - this.lastHeard > DEAD_AFTER_MS) return this.close(`no heartbeat for ${DEAD_AFTER_MS / 1000} s`, true);
      if (this.peer) this.socket.write(encodeFrame(FrameType.heartbeat));
    }, HEARTBEAT_MS);
  }

  get established(): boolean {
    return this.peer !== null && this.closeReason === null;
  }

  send(message: MeshMessage): void {
    if (this.established) this.socket.write(encodeJsonFrame(FrameType.message, message));
  }

  /** Ends the connection, telling the peer why when `tell` is set. */
  close(reason: string, tell: boolean): void {
    if (this.closeReason !== null) return;
    this.closeReason = reason;
    clearInterval(this.timer);
    if (tell && !this.socket.destroyed) this.socket.end(encodeJsonFrame(FrameType.refuse, { reason }));
    setTimeout(() => this.socket.destroy(), 1000).unref();
    this.events.closed(this, reason);
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
    if (type === FrameType.heartbeat) return;
    if (type === FrameType.refuse) {
      const reason = parseJson(payload) as { reason?: unknown } | undefined;
      return this.close(`refused by peer: ${typeof reason?.reason === 'string' ? reason.reason.slice(0, 200) : 'no reason given'}`, false);
    }
    if (!this.peer) {
      if (type !== FrameType.hello) return this.close('first frame is not a hello', true);
      const hello = parseJson(payload);
      if (!isHello(hello)) return this.close('malformed hello', true);
      const verdict = judgeHello(this.ours, hello);
      if (!verdict.ok) return this.close(verdict.reason, true);
      this.peer = hello;
      this.version = verdict.version;
      return this.events.established(this);
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
}

function parseJson(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
}
