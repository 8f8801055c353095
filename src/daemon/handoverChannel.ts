// The takeover's one connection between the running daemon and its
// successor: a unix socket in the run dir, messages as [u32 length][JSON],
// descriptors riding on a message's first byte (the addon's fdSend and
// fdReceive, SCM_RIGHTS). Buffers travel as {"$b": base64} and bigints as
// {"$n": decimal}, so the state of the mesh goes as it is held; what a
// message means, and whether it is well formed, is handoverMessages.ts's.
import { native } from '../dataplane/native.js';

/** Larger than any state a mesh of a few hundred peers hands over; a length beyond it is refused. */
const MAX_MESSAGE = 16 << 20;
const MAX_FDS = 250;

export class HandoverChannelError extends Error {}

export class HandoverChannel {
  private closed = false;
  private readonly chunk = Buffer.allocUnsafe(1 << 16);
  private readonly fdsIn = new Int32Array(MAX_FDS);

  constructor(readonly fd: number) {}

  /** Who is at the other end. */
  peer(): { pid: number; uid: number } {
    return native.peerCredentials(this.fd);
  }

  send(message: unknown, fds: readonly number[] = [], timeoutMs = 2000): void {
    const body = Buffer.from(JSON.stringify(message, encodeValue), 'utf8');
    const framed = Buffer.allocUnsafe(4 + body.length);
    framed.writeUInt32BE(body.length, 0);
    body.copy(framed, 4);
    native.fdSend(this.fd, framed, Int32Array.from(fds), timeoutMs);
  }

  /**
   * The next message, and the descriptors that came with it; null when the
   * other end closed or nothing came in time. Blocks: the caller's event loop
   * waits with it.
   */
  receive(timeoutMs: number): { message: unknown; fds: number[] } | null {
    const deadline = Date.now() + timeoutMs;
    const parts: Buffer[] = [];
    const fds: number[] = [];
    let have = 0;
    let want = -1;
    try {
      while (want < 0 || have < 4 + want) {
        const left = Math.max(0, deadline - Date.now());
        const got = native.fdReceive(this.fd, this.chunk, this.fdsIn, left);
        for (let i = 0; i < got.fds; i++) fds.push(this.fdsIn[i]);
        if (got.bytes <= 0) throw new HandoverChannelError(got.bytes === 0 ? 'the other end closed' : 'nothing came in time');
        parts.push(Buffer.from(this.chunk.subarray(0, got.bytes)));
        have += got.bytes;
        if (want < 0 && have >= 4) {
          want = Buffer.concat(parts).readUInt32BE(0);
          if (want > MAX_MESSAGE) throw new HandoverChannelError(`a message of ${want} bytes`);
        }
      }
      const whole = Buffer.concat(parts);
      if (whole.length !== 4 + want) throw new HandoverChannelError('bytes after the message');
      return { message: JSON.parse(whole.subarray(4).toString('utf8'), decodeValue), fds };
    } catch (error) {
      // Descriptors of a message not taken are not ours to keep open.
      for (const fd of fds) native.close(fd);
      if (error instanceof HandoverChannelError) return null;
      if (error instanceof SyntaxError) return null;
      throw error;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    native.close(this.fd);
  }
}

function encodeValue(this: unknown, key: string, value: unknown): unknown {
  const raw = (this as Record<string, unknown>)[key];
  if (Buffer.isBuffer(raw)) return { $b: raw.toString('base64') };
  if (typeof value === 'bigint') return { $n: value.toString() };
  return value;
}

function decodeValue(_key: string, value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const v = value as { $b?: unknown; $n?: unknown };
  const keys = Object.keys(v);
  if (keys.length !== 1) return value;
  if (typeof v.$b === 'string') return Buffer.from(v.$b, 'base64');
  if (typeof v.$n === 'string' && /^-?\d{1,40}$/.test(v.$n)) return BigInt(v.$n);
  return value;
}
