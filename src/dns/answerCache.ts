// Local answers kept as finished messages, by question: a repeated query for
// a weave.local name is answered with a copy of the bytes and its own ID,
// flags and question case written in: no parse, no encode. Valid for one
// generation of the record store; bounded, so a flood of made-up names
// costs at most MAX_ENTRIES small buffers.
import { HEADER, optAt, questionEnd } from './dnsMessage.js';

const MAX_ENTRIES = 4096;
const RD = 0x01; // in the third header byte
const HOSTNAME_BYTE = new Uint8Array(256).map((_, b) => Number(/[A-Za-z0-9_-]/.test(String.fromCharCode(b))));

export interface CachedQuestion {
  key: string;
  end: number;
}

export class AnswerCache {
  private readonly entries = new Map<string, Buffer>();
  private generation = -1;

  /**
   * The cache's key for a plain query (QUERY opcode, one question of hostname
   * bytes, nothing else but an OPT record), or null: such a message takes
   * the full parse.
   */
  static question(msg: Buffer): CachedQuestion | null {
    if (msg.length < HEADER || (msg[2] & 0xf8) !== 0) return null; // a response, or not QUERY
    if (msg[4] !== 0 || msg[5] !== 1 || msg[6] !== 0 || msg[7] !== 0 || msg[8] !== 0 || msg[9] !== 0 || msg[10] !== 0) return null;
    const end = questionEnd(msg);
    if (end < 0) return null;
    if (msg[end - 2] !== 0 || msg[end - 1] !== 1) return null; // class IN only: others are echoed as the library names them
    const additional = msg[11];
    if (additional > 1) return null;
    // an OPT record, exactly its own length
    if (additional === 1 && (optAt(msg, end) < 0 || msg.length !== end + 11 + msg.readUInt16BE(end + 9))) return null;
    // Only hostname bytes: dns-packet re-encodes others differently (a dot
    // inside a label, a line break), and the full path must give the same bytes.
    for (let at = HEADER; msg[at] !== 0; at += msg[at] + 1) {
      for (let i = at + 1; i <= at + msg[at]; i++) if (!HOSTNAME_BYTE[msg[i]]) return null;
    }
    return { key: msg.toString('latin1', HEADER, end).toLowerCase() + (additional ? '+' : ''), end };
  }

  /** The answer to `msg` (whose question is `q`), or null. */
  answer(msg: Buffer, q: CachedQuestion, generation: number): Buffer | null {
    if (generation !== this.generation) return null;
    const template = this.entries.get(q.key);
    if (!template) return null;
    const reply = Buffer.allocUnsafe(template.length);
    template.copy(reply);
    reply[0] = msg[0];
    reply[1] = msg[1];
    reply[2] = (template[2] & ~RD) | (msg[2] & RD);
    msg.copy(reply, HEADER, HEADER, q.end); // the question as the client cased it
    return reply;
  }

  keep(q: CachedQuestion, reply: Buffer, generation: number): void {
    if (generation !== this.generation || this.entries.size >= MAX_ENTRIES) {
      this.entries.clear();
      this.generation = generation;
    }
    this.entries.set(q.key, reply);
  }
}
