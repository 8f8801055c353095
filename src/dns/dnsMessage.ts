// DNS messages (RFC 1035), as much as a name server for one domain needs:
// queries parsed strictly (bounded names, no compression loops, sane counts),
// answers built with A and PTR records.

export const RCODE = { noError: 0, formErr: 1, servFail: 2, nxDomain: 3, notImp: 4, refused: 5 } as const;
export const TYPE = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, AAAA: 28, ANY: 255 } as const;
const CLASS_IN = 1;
const HEADER = 12;

export interface Question {
  name: string; // lower case, no trailing dot
  type: number;
  class: number;
}

export interface Query {
  id: number;
  flags: number;
  opcode: number;
  recursionDesired: boolean;
  question: Question;
}

export class DnsFormatError extends Error {
  constructor(message: string, readonly id: number | null) {
    super(message);
  }
}

/** Reads a (possibly compressed) name at `offset`; returns it and where the name ended in the message. */
export function readName(msg: Buffer, offset: number): { name: string; end: number } {
  const labels: string[] = [];
  let at = offset;
  let end = -1;
  let jumps = 0;
  let length = 0;
  for (;;) {
    if (at >= msg.length) throw new DnsFormatError('name runs past the message', null);
    const len = msg[at];
    if ((len & 0xc0) === 0xc0) {
      if (at + 1 >= msg.length) throw new DnsFormatError('truncated compression pointer', null);
      if (++jumps > 16) throw new DnsFormatError('compression loop', null);
      if (end < 0) end = at + 2;
      const target = ((len & 0x3f) << 8) | msg[at + 1];
      if (target >= at) throw new DnsFormatError('compression pointer forwards', null);
      at = target;
      continue;
    }
    if ((len & 0xc0) !== 0) throw new DnsFormatError('unknown label type', null);
    if (len === 0) {
      if (end < 0) end = at + 1;
      break;
    }
    if (at + 1 + len > msg.length) throw new DnsFormatError('label runs past the message', null);
    length += len + 1;
    if (length > 255) throw new DnsFormatError('name longer than 255 bytes', null);
    labels.push(msg.toString('latin1', at + 1, at + 1 + len).toLowerCase());
    at += 1 + len;
  }
  return { name: labels.join('.'), end };
}

/** Parses a query with exactly one question; anything else is a DnsFormatError. */
export function parseQuery(msg: Buffer): Query {
  if (msg.length < HEADER) throw new DnsFormatError('shorter than a DNS header', null);
  const id = msg.readUInt16BE(0);
  const flags = msg.readUInt16BE(2);
  if (flags & 0x8000) throw new DnsFormatError('a response, not a query', id);
  const qd = msg.readUInt16BE(4);
  if (qd !== 1) throw new DnsFormatError(`${qd} questions (want 1)`, id);
  if (msg.readUInt16BE(6) !== 0 || msg.readUInt16BE(8) !== 0 || msg.readUInt16BE(10) > 1) {
    throw new DnsFormatError('records in a query (at most one OPT allowed)', id);
  }
  let name: { name: string; end: number };
  try {
    name = readName(msg, HEADER);
  } catch (error) {
    throw new DnsFormatError((error as Error).message, id);
  }
  if (name.end + 4 > msg.length) throw new DnsFormatError('question truncated', id);
  return {
    id,
    flags,
    opcode: (flags >> 11) & 0xf,
    recursionDesired: (flags & 0x0100) !== 0,
    question: { name: name.name, type: msg.readUInt16BE(name.end), class: msg.readUInt16BE(name.end + 2) },
  };
}

export interface Answer {
  type: typeof TYPE.A | typeof TYPE.PTR;
  ttl: number;
  /** A: dotted quad; PTR: a name without trailing dot. */
  data: string;
}

function encodeName(name: string): Buffer {
  const parts = name === '' ? [] : name.split('.');
  const out: Buffer[] = [];
  for (const p of parts) out.push(Buffer.from([p.length]), Buffer.from(p, 'latin1'));
  out.push(Buffer.from([0]));
  return Buffer.concat(out);
}

/** A response to `query`: its question echoed, then the answers (names compressed to the question). */
export function buildResponse(query: Query, rcode: number, answers: Answer[], authoritative: boolean): Buffer {
  const header = Buffer.alloc(HEADER);
  header.writeUInt16BE(query.id, 0);
  const flags = 0x8000 | (query.opcode << 11) | (authoritative ? 0x0400 : 0) | (query.recursionDesired ? 0x0100 : 0) | 0x0080 | rcode;
  header.writeUInt16BE(flags, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(answers.length, 6);
  const question = Buffer.concat([encodeName(query.question.name), u16(query.question.type), u16(query.question.class)]);
  const records = answers.map((a) => {
    const rdata = a.type === TYPE.A ? Buffer.from(a.data.split('.').map(Number)) : encodeName(a.data);
    const rr = Buffer.alloc(12);
    rr.writeUInt16BE(0xc000 | HEADER, 0); // the owner name is the question's
    rr.writeUInt16BE(a.type, 2);
    rr.writeUInt16BE(CLASS_IN, 4);
    rr.writeUInt32BE(a.ttl, 6);
    rr.writeUInt16BE(rdata.length, 10);
    return Buffer.concat([rr, rdata]);
  });
  return Buffer.concat([header, question, ...records]);
}

/** A bare error response for a message we could not parse as a query. */
export function buildError(id: number, rcode: number): Buffer {
  const header = Buffer.alloc(HEADER);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x8000 | 0x0080 | rcode, 2);
  return header;
}

/** Sets the TC bit and drops the answers: for a UDP reply that would not fit. */
export function truncate(response: Buffer, query: Query): Buffer {
  const cut = buildResponse(query, response.readUInt16BE(2) & 0xf, [], (response.readUInt16BE(2) & 0x0400) !== 0);
  cut.writeUInt16BE(cut.readUInt16BE(2) | 0x0200, 2);
  return cut;
}

function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
}

export const CLASS = { IN: CLASS_IN };
