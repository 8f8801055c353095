import { describe, expect, it } from 'vitest';
import { buildResponse, DnsFormatError, parseQuery, readName, TYPE } from '../../src/dns/dnsMessage.js';
import { qualify, RecordStore } from '../../src/dns/recordStore.js';

function query(name: string, type = TYPE.A, id = 0x1234): Buffer {
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  const header = Buffer.from([id >> 8, id & 255, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
  return Buffer.concat([header, ...labels, Buffer.from([0, 0, type, 0, 1])]);
}

describe('DNS messages', () => {
  it('parses a query, lower-casing the name', () => {
    const q = parseQuery(query('Web.Weave.Local'));
    expect(q).toMatchObject({ id: 0x1234, opcode: 0, recursionDesired: true, question: { name: 'web.weave.local', type: TYPE.A, class: 1 } });
  });

  it('builds an answer byte for byte: question echoed, A records compressed to it', () => {
    const q = parseQuery(query('web.weave.local'));
    const r = buildResponse(q, 0, [{ type: TYPE.A, ttl: 30, data: '10.32.1.2' }], true);
    expect(r.subarray(0, 12).toString('hex')).toBe('1234' + '8580' + '0001' + '0001' + '0000' + '0000');
    const answer = r.subarray(12 + 17 + 4);
    expect(answer.toString('hex')).toBe('c00c' + '0001' + '0001' + '0000001e' + '0004' + '0a200102');
  });

  it('follows compression pointers backwards and refuses loops and forward pointers', () => {
    const m = Buffer.concat([Buffer.alloc(12), Buffer.from([3, 0x77, 0x65, 0x62, 0]), Buffer.from([1, 0x61, 0xc0, 12])]);
    expect(readName(m, 17)).toEqual({ name: 'a.web', end: 21 });
    expect(() => readName(Buffer.concat([Buffer.alloc(12), Buffer.from([0xc0, 12])]), 12)).toThrow(/compression pointer forwards|loop/);
    expect(() => readName(Buffer.concat([Buffer.alloc(12), Buffer.from([0xc0, 14, 0xc0, 12])]), 12)).toThrow(DnsFormatError);
  });

  it.each([
    ['too short', Buffer.from([1, 2, 3]), /shorter than a DNS header/],
    ['two questions', (() => { const q = query('a.b'); q[5] = 2; return q; })(), /2 questions/],
    ['a response', (() => { const q = query('a.b'); q[2] |= 0x80; return q; })(), /a response/],
    ['a name past the end', query('web.weave.local').subarray(0, 20), /runs past|truncated/],
    ['a label type 0x40', Buffer.concat([query('a').subarray(0, 12), Buffer.from([0x41, 0, 0, 1, 0, 1])]), /unknown label type/],
  ])('refuses %s', (_name, msg, error) => {
    expect(() => parseQuery(msg)).toThrow(error);
  });

  it('refuses names longer than 255 bytes', () => {
    const long = Array.from({ length: 5 }, () => 'a'.repeat(60)).join('.');
    expect(() => parseQuery(query(long))).toThrow(/longer than 255/);
  });
});

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
});
