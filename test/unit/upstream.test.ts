import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Upstream } from '../../src/dns/upstream.js';

describe('upstream servers from resolv.conf', () => {
  const dirs: string[] = [];
  const upstreams: Upstream[] = [];
  afterEach(() => {
    upstreams.splice(0).forEach((u) => u.close());
    dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));
  });
  function read(text: string, own: string[] = []): string[] {
    const dir = mkdtempSync(join(tmpdir(), 'tso-resolv-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'resolv.conf'), text);
    const upstream = new Upstream(join(dir, 'resolv.conf'), new Set(own));
    upstreams.push(upstream);
    return upstream.servers;
  }

  it('takes IPv4 and IPv6 nameservers in order, IPv6 in canonical form, and leaves out our own address', () => {
    const text = ['# comment', 'nameserver 10.0.0.2', 'search example.org', 'nameserver 2001:DB8:0:0::53', 'nameserver 10.32.0.1', 'nameserver ::1'].join('\n');
    expect(read(text, ['10.32.0.1'])).toEqual(['10.0.0.2', '2001:db8::53', '::1']);
  });

  it('leaves out what is no address: a zone, a name, a bad address', () => {
    const text = ['nameserver fe80::1%eth0', 'nameserver dns.example.org', 'nameserver 10.0.0.300', 'nameserver 2001:db8::1::2', 'nameserver', 'nameserver 192.0.2.1 extra', 'nameserver 192.0.2.2'].join('\n');
    expect(read(text)).toEqual(['192.0.2.2']);
  });
});
