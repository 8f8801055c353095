import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildResponse, DnsFormatError, parseQuery, truncate } from '../../src/dns/dnsMessage.js';
import { DnsServer } from '../../src/dns/dnsServer.js';
import { qualify, RecordStore } from '../../src/dns/recordStore.js';
import type { Upstream } from '../../src/dns/upstream.js';
import { addressOfReverseIPv6, canonicalIPv6, formatIPv6, parseIPv6, reverseNameIPv6 } from '../../src/net/ipv6.js';

const TYPES = { A: 1, PTR: 12, AAAA: 28, ANY: 255 } as const;

function query(name: string, type: number = TYPES.A, id = 0x1234, opt = false): Buffer {
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  const header = Buffer.from([id >> 8, id & 255, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, opt ? 1 : 0]);
  const edns = opt ? Buffer.from('0000291000000000000000', 'hex') : Buffer.alloc(0); // OPT, size 4096
  return Buffer.concat([header, ...labels, Buffer.from([0, 0, type, 0, 1]), edns]);
}

const noUpstream = { forward: async () => null } as unknown as Upstream;

function server(): { store: RecordStore; dns: DnsServer } {
  const store = new RecordStore('weave.local');
  store.add('10.32.1.2', 'web');
  store.add('fd00:1::0:2', 'web');
  store.add('10.32.1.3', 'db');
  return { store, dns: new DnsServer(store, noUpstream, 30) };
}

/** The reply to a message that the server answers at once. */
function local(dns: DnsServer, msg: Buffer): Buffer {
  const reply = dns.answer(msg);
  if (!(reply instanceof Buffer)) throw new Error('not answered at once');
  return reply;
}

describe('DNS messages', () => {
  it('parses a query, lower-casing the name and echoing the question as sent', () => {
    const q = parseQuery(query('Web.Weave.Local'));
    expect(q).toMatchObject({ id: 0x1234, opcode: 0, recursionDesired: true, name: 'web.weave.local', type: 'A', edns: false });
    expect(q.question.name).toBe('Web.Weave.Local');
    expect(parseQuery(query('web', TYPES.ANY, 1, true))).toMatchObject({ type: 'ANY', edns: true });
  });

  it('builds an answer byte for byte: header, question echoed, A record', () => {
    const q = parseQuery(query('web.weave.local'));
    const r = buildResponse(q, 0, [{ type: 'A', ttl: 30, data: '10.32.1.2' }], true);
    expect(r.subarray(0, 12).toString('hex')).toBe('1234' + '8580' + '0001' + '0001' + '0000' + '0000');
    const answer = r.subarray(12 + 17 + 4 + 17);
    expect(answer.toString('hex')).toBe('0001' + '0001' + '0000001e' + '0004' + '0a200102');
  });

  it.each([
    ['too short', Buffer.from([1, 2, 3]), /shorter than a DNS header/],
    ['two questions', (() => { const q = query('a.b'); q[5] = 2; return q; })(), /2 questions/],
    ['a response', (() => { const q = query('a.b'); q[2] |= 0x80; return q; })(), /a response/],
    ['a name past the end', query('web.weave.local').subarray(0, 20), DnsFormatError],
    ['a label type 0x40', Buffer.concat([query('a').subarray(0, 12), Buffer.from([0x41, 0, 0, 1, 0, 1])]), DnsFormatError],
    ['a compression loop', Buffer.concat([query('a').subarray(0, 12), Buffer.from([0xc0, 12, 0, 1, 0, 1])]), DnsFormatError],
    ['an A record as additional', Buffer.concat([(() => { const q = query('a'); q[11] = 1; return q; })(), Buffer.from('00000100010000001e00040a000001', 'hex')]), /only OPT/],
  ])('refuses %s', (_name, msg, error) => {
    expect(() => parseQuery(msg)).toThrow(error);
  });

  it('refuses names longer than 255 bytes', () => {
    const long = Array.from({ length: 5 }, () => 'a'.repeat(60)).join('.');
    expect(() => parseQuery(query(long))).toThrow(DnsFormatError);
  });

  it('truncates to header and question, TC set', () => {
    const { dns } = server();
    const t = truncate(local(dns, query('web.weave.local')));
    expect(t.length).toBe(12 + 17 + 4);
    expect(t.readUInt16BE(2) & 0x0200).toBe(0x0200);
    expect(t.readUInt16BE(6)).toBe(0);
  });
});

describe('DNS answers', () => {
  it('A, AAAA and ANY for a name; NODATA and NXDOMAIN', () => {
    const { dns } = server();
    const decode = (m: Buffer) => parseAnswer(local(dns, m));
    expect(decode(query('web.weave.local'))).toEqual({ rcode: 0, answers: ['A 10.32.1.2'] });
    expect(decode(query('WEB', TYPES.AAAA))).toEqual({ rcode: 0, answers: ['AAAA fd00:1::2'] });
    expect(decode(query('web', TYPES.ANY))).toEqual({ rcode: 0, answers: ['A 10.32.1.2', 'AAAA fd00:1::2'] });
    expect(decode(query('db', TYPES.AAAA))).toEqual({ rcode: 0, answers: [] });
    expect(decode(query('nothing.weave.local', TYPES.AAAA))).toEqual({ rcode: 3, answers: [] });
  });

  it('PTR for in-addr.arpa and ip6.arpa names', () => {
    const { dns } = server();
    expect(parseAnswer(local(dns, query('2.1.32.10.in-addr.arpa', TYPES.PTR)))).toEqual({ rcode: 0, answers: ['PTR web.weave.local'] });
    const name = reverseNameIPv6(parseIPv6('fd00:1::2'));
    expect(name).toBe('2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.0.0.d.f.ip6.arpa');
    expect(parseAnswer(local(dns, query(name, TYPES.PTR)))).toEqual({ rcode: 0, answers: ['PTR web.weave.local'] });
  });

  it('answers with an OPT record when asked with one', async () => {
    const { dns } = server();
    const { default: dnsPacket } = await import('dns-packet');
    const r = dnsPacket.decode(local(dns, query('web', TYPES.A, 7, true)));
    expect(r.additionals?.map((a) => a.type)).toEqual(['OPT']);
  });

  it('a repeated question is answered from the cache: the same bytes with its own ID, RD and case', () => {
    const { store, dns } = server();
    const first = local(dns, query('web.weave.local', TYPES.AAAA, 1));
    const again = query('WEB.weave.LOCAL', TYPES.AAAA, 0xbeef);
    again[2] &= ~1; // no RD
    const cached = local(dns, again);
    expect(cached.readUInt16BE(0)).toBe(0xbeef);
    expect(cached[2] & 1).toBe(0);
    expect(cached.subarray(12, 12 + 17).toString('latin1')).toContain('WEB');
    expect(parseAnswer(cached)).toEqual(parseAnswer(first));
    expect(dns.counters.cached).toBe(1);
    // a change to the records makes every kept answer stale
    store.add('fd00:1::9', 'web');
    expect(parseAnswer(local(dns, query('web', TYPES.AAAA, 2))).answers.sort()).toEqual(['AAAA fd00:1::2', 'AAAA fd00:1::9']);
    expect(dns.counters.cached).toBe(1);
  });

  it('whatever the cache answers, the full path answers the same (mutated queries)', () => {
    const good = [query('web.weave.local', TYPES.A), query('web', TYPES.AAAA, 9, true), query('2.1.32.10.in-addr.arpa', TYPES.PTR), query('x.weave.local')];
    fc.assert(
      fc.property(fc.nat(good.length - 1), fc.array(fc.tuple(fc.nat(60), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), (which, edits) => {
        const m = Buffer.from(good[which]);
        for (const [at, v] of edits) if (at < m.length) m[at] = v;
        const warm = server().dns;
        const cold = server().dns;
        // the same query twice: the second may come from the cache
        const once = warm.answer(Buffer.from(m));
        const twice = warm.answer(Buffer.from(m));
        const full = cold.answer(Buffer.from(m));
        if (once instanceof Promise || twice instanceof Promise || full instanceof Promise) return true; // forwarded: not ours
        return (twice === null && full === null) || (twice !== null && full !== null && twice.equals(full) && once!.equals(full));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('IPv6 addresses', () => {
  it.each([
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8::0:1', '2001:db8::1'],
    ['::', '::'],
    ['::1', '::1'],
    ['fd00:0:0:1::', 'fd00:0:0:1::'],
    ['2001:db8:1:1:1:1:1:1', '2001:db8:1:1:1:1:1:1'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['::ffff:10.0.0.1', '::ffff:a00:1'],
  ])('%s is %s (RFC 5952)', (text, canonical) => {
    expect(canonicalIPv6(text)).toBe(canonical);
  });

  it('reverse names round-trip; anything else is refused', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        const name = reverseNameIPv6(bytes);
        const back = addressOfReverseIPv6(name.slice(0, -'.ip6.arpa'.length));
        return back !== null && formatIPv6(back) === formatIPv6(bytes) && canonicalIPv6(formatIPv6(bytes)) === formatIPv6(bytes);
      }),
    );
    expect(addressOfReverseIPv6('1.2.3')).toBeNull();
    expect(() => parseIPv6('fd00::1::2')).toThrow(/not an IPv6 address/);
    expect(() => parseIPv6('fe80::1%eth0')).toThrow(/not an IPv6 address/);
  });
});

/** rcode and answers as "TYPE data", via dns-packet. */
function parseAnswer(reply: Buffer): { rcode: number; answers: string[] } {
  const answers: string[] = [];
  const count = reply.readUInt16BE(6);
  let at = 12;
  const skipName = () => {
    while (reply[at] !== 0 && (reply[at] & 0xc0) !== 0xc0) at += reply[at] + 1;
    at += reply[at] === 0 ? 1 : 2;
  };
  skipName();
  at += 4;
  for (let i = 0; i < count; i++) {
    skipName();
    const type = reply.readUInt16BE(at);
    const len = reply.readUInt16BE(at + 8);
    const data = reply.subarray(at + 10, at + 10 + len);
    at += 10 + len;
    if (type === TYPES.A) answers.push(`A ${[...data].join('.')}`);
    else if (type === TYPES.AAAA) answers.push(`AAAA ${formatIPv6(data)}`);
    else if (type === TYPES.PTR) {
      const labels: string[] = [];
      for (let j = 0; data[j] !== 0; j += data[j] + 1) labels.push(data.subarray(j + 1, j + 1 + data[j]).toString());
      answers.push(`PTR ${labels.join('.')}`);
    }
  }
  return { rcode: reply[3] & 0xf, answers };
}

describe('record store', () => {
  it('qualifies names into the domain', () => {
    expect(qualify('Web', 'weave.local')).toBe('web.weave.local');
    expect(qualify('web.weave.local.', 'weave.local')).toBe('web.weave.local');
    expect(() => qualify('bad name', 'weave.local')).toThrow(/not a valid DNS name/);
  });

  it('merges own and others\' records, answers reverse lookups, and removes by address or name', () => {
    const s = new RecordStore('weave.local');
    s.add('10.0.0.1', 'web');
    s.add('10.0.0.2', 'web');
    s.setOthers([{ name: 'web.weave.local', ip: '10.0.0.3' }, { name: 'db.weave.local', ip: '10.0.0.1' }]);
    expect(s.lookup('web.weave.local').sort()).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3']);
    expect(s.reverse('10.0.0.1').sort()).toEqual(['db.weave.local', 'web.weave.local']);
    expect(s.remove('10.0.0.1', 'db')).toBe(0); // not ours
    expect(s.remove('10.0.0.1')).toBe(1);
    expect(s.lookup('web.weave.local').sort()).toEqual(['10.0.0.2', '10.0.0.3']);
  });

  it('keeps IPv6 records in canonical form, apart by family; others\' unreadable addresses are left out', () => {
    const s = new RecordStore('weave.local');
    expect(s.add('FD00:0:0:0::1', 'web')).toEqual({ name: 'web.weave.local', ip: 'fd00::1' });
    s.add('10.0.0.1', 'web');
    s.setOthers([{ name: 'web.weave.local', ip: 'fd00::2' }, { name: 'bad.weave.local', ip: 'fd00::zz' }]);
    expect(s.lookup('web.weave.local', 6).sort()).toEqual(['fd00::1', 'fd00::2']);
    expect(s.lookup('web.weave.local', 4)).toEqual(['10.0.0.1']);
    expect(s.has('bad.weave.local')).toBe(false);
    expect(s.reverse('fd00::1')).toEqual(['web.weave.local']);
    expect(s.remove('fd00:0::1')).toBe(1);
    expect(() => s.add('fd00::1::2', 'x')).toThrow(/not an IP address/);
  });
});
