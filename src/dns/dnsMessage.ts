// DNS messages, read and written with dns-packet. Before the library sees a
// message its header is checked on the bytes (one question, no answers, at
// most one additional record: the EDNS OPT), so a hostile count cannot make
// it build large arrays; whatever it then throws is a DnsFormatError.
import dnsPacket from 'dns-packet';

export const RCODE = { noError: 0, formErr: 1, servFail: 2, nxDomain: 3, notImp: 4, refused: 5 } as const;
export const HEADER = 12;
const QR = 0x8000;
const AA = 0x0400;
const TC = 0x0200;
const RD = 0x0100;
const RA = 0x0080;
/** What a UDP answer may take without EDNS (RFC 1035), and the most we offer with it (the DNS flag day's 1232). */
export const UDP_PLAIN = 512;
export const UDP_EDNS = 1232;

export interface Query {
  id: number;
  opcode: number;
  recursionDesired: boolean;
  /** The question as the client wrote it, to echo. */
  question: dnsPacket.Question;
  /** Its name lower-cased, without the trailing dot ('' for the root). */
  name: string;
  /** Its type as dns-packet names it: also 'ANY', and 'UNKNOWN_<n>' (wider than the library's own type). */
  type: string;
  /** The client sent an EDNS OPT record: the answer carries one too. */
  edns: boolean;
}

export interface Answer {
  type: 'A' | 'AAAA' | 'PTR';
  ttl: number;
  /** A, AAAA: an address; PTR: a name without trailing dot. */
  data: string;
}

export class DnsFormatError extends Error {
  constructor(message: string, readonly id: number | null) {
    super(message);
  }
}

/** Parses a query with exactly one question; anything else is a DnsFormatError. */
export function parseQuery(msg: Buffer): Query {
  if (msg.length < HEADER) throw new DnsFormatError('shorter than a DNS header', null);
  const id = msg.readUInt16BE(0);
  const flags = msg.readUInt16BE(2);
  if (flags & QR) throw new DnsFormatError('a response, not a query', id);
  const questions = msg.readUInt16BE(4);
  if (questions !== 1) throw new DnsFormatError(`${questions} questions (want 1)`, id);
  if (msg.readUInt16BE(6) !== 0 || msg.readUInt16BE(8) !== 0 || msg.readUInt16BE(10) > 1) {
    throw new DnsFormatError('records in a query (at most one OPT allowed)', id);
  }
  let decoded: dnsPacket.DecodedPacket;
  try {
    decoded = dnsPacket.decode(msg);
  } catch (error) {
    throw new DnsFormatError((error as Error).message, id);
  }
  const question = decoded.questions![0];
  const opt = decoded.additionals?.[0];
  if (opt && opt.type !== 'OPT') throw new DnsFormatError(`a ${opt.type} record in a query (only OPT allowed)`, id);
  const name = question.name === '.' ? '' : question.name.toLowerCase();
  return {
    id,
    opcode: (flags >> 11) & 0xf,
    recursionDesired: (flags & RD) !== 0,
    question,
    name,
    type: question.type,
    edns: opt !== undefined,
  };
}

/** A response to `query`: its question echoed, then the answers. */
export function buildResponse(query: Query, rcode: number, answers: Answer[], authoritative: boolean): Buffer {
  const flags = (query.opcode << 11) | (authoritative ? AA : 0) | (query.recursionDesired ? RD : 0) | RA | rcode;
  return dnsPacket.encode({
    type: 'response',
    id: query.id,
    flags,
    questions: [query.question],
    answers: answers.map((a) => ({ name: query.question.name, type: a.type, class: 'IN', ttl: a.ttl, data: a.data })),
    additionals: query.edns ? [{ type: 'OPT', name: '.', udpPayloadSize: UDP_EDNS, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] : [],
  });
}

/** A bare error response for a message we could not parse as a query. */
export function buildError(id: number, rcode: number): Buffer {
  const header = Buffer.alloc(HEADER);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(QR | RA | rcode, 2);
  return header;
}

/**
 * Where the question of a well-formed message ends (after its type and
 * class), or -1; names in a question cannot be compressed (there is nothing
 * before them to point to).
 */
export function questionEnd(msg: Buffer): number {
  let at = HEADER;
  for (;;) {
    if (at >= msg.length) return -1;
    const len = msg[at];
    if (len === 0) break;
    if (len > 63) return -1;
    at += 1 + len;
  }
  return at + 5 <= msg.length ? at + 5 : -1;
}

/**
 * The EDNS OPT record right after the question (at `end`, see questionEnd):
 * its offset, or -1. An OPT has the root name and type 41; its class is the
 * client's UDP size.
 */
export function optAt(msg: Buffer, end: number): number {
  return end > 0 && msg.readUInt16BE(10) === 1 && msg.length >= end + 11 && msg[end] === 0 && msg.readUInt16BE(end + 1) === 41 ? end : -1;
}

/** A response cut to its header and question with TC set: for a UDP answer that would not fit. */
export function truncate(response: Buffer): Buffer {
  const end = response.readUInt16BE(4) === 1 ? questionEnd(response) : -1;
  const cut = Buffer.from(response.subarray(0, end < 0 ? HEADER : end));
  cut.writeUInt16BE(cut.readUInt16BE(2) | TC, 2);
  cut.writeUInt16BE(end < 0 ? 0 : 1, 4);
  cut.fill(0, 6, HEADER);
  return cut;
}
