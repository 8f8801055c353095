// Control-plane framing on TCP: [u32 length][u8 type][payload], length
// counting type and payload. A reader takes bytes as they come and yields
// whole frames; anything malformed ends the connection.

export const FrameType = {
  hello: 1,
  heartbeat: 2,
  message: 3,
  refuse: 4,
  /** Another frame's type and payload, sealed with the connection's key (a password is set). */
  sealed: 5,
} as const;

export type FrameTypeValue = (typeof FrameType)[keyof typeof FrameType];

/** Large enough for a 1,000-peer ring in one gossip, small enough to bound memory per connection. */
export const MAX_FRAME = 4 << 20;

export class FrameError extends Error {}

export function encodeFrame(type: FrameTypeValue, payload: Buffer = Buffer.alloc(0)): Buffer {
  const frame = Buffer.allocUnsafe(5 + payload.length);
  frame.writeUInt32BE(1 + payload.length, 0);
  frame[4] = type;
  payload.copy(frame, 5);
  return frame;
}

export function encodeJsonFrame(type: FrameTypeValue, value: unknown): Buffer {
  return encodeFrame(type, Buffer.from(JSON.stringify(value), 'utf8'));
}

export class FrameReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  /** `start`: bytes of a frame begun on the stream before it was handed to this reader (a takeover). */
  constructor(start?: Buffer) {
    if (start && start.length > 0) this.push(start);
  }

  /** The bytes of a frame not yet whole. */
  leftover(): Buffer {
    return Buffer.concat(this.pending);
  }

  /** Feeds bytes; returns the whole frames now available. Throws FrameError on a malformed stream. */
  push(chunk: Buffer): { type: number; payload: Buffer }[] {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    const frames: { type: number; payload: Buffer }[] = [];
    while (this.pendingBytes >= 4) {
      const head = this.peek(5);
      const length = head.readUInt32BE(0);
      if (length < 1 || length > MAX_FRAME) throw new FrameError(`frame length ${length} out of bounds (1..${MAX_FRAME})`);
      if (this.pendingBytes < 4 + length) break;
      const whole = this.take(4 + length);
      const type = whole[4];
      if (type < FrameType.hello || type > FrameType.sealed) throw new FrameError(`unknown frame type ${type}`);
      frames.push({ type, payload: whole.subarray(5) });
    }
    return frames;
  }

  private peek(n: number): Buffer {
    if (this.pending[0].length >= n || this.pending.length === 1) return this.pending[0];
    const joined = Buffer.concat(this.pending);
    this.pending = [joined];
    return joined;
  }

  private take(n: number): Buffer {
    const joined = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending);
    this.pending = joined.length > n ? [joined.subarray(n)] : [];
    this.pendingBytes -= n;
    return joined.subarray(0, n);
  }
}
