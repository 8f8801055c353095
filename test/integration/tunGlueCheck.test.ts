// Glued runs into a real TUN: the kernel trusts a glued run (it sums the bytes
// anew), so when the datagrams may have come without a UDP checksum (VXLAN,
// RFC 7348) a segment whose own checksum fails must not be glued. Three
// segments of one TCP flow and three datagrams of one UDP flow, the middle
// one with a payload byte changed; the kernel's InCsumErrors tells whether
// it saw the bad one.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, type LabHost } from '../../src/lab/lab.js';
import { ipPacket } from '../helpers/packets.js';

const HELPER = fileURLToPath(new URL('../helpers/tunWrite.mjs', import.meta.url));
const PAYLOAD = 1000;

/** Three segments of one flow from 10.98.0.2 to 10.98.0.1 (no one listens), the middle one changed after its checksum. */
function run(proto: 'tcp' | 'udp'): string[] {
  const packets = [0, 1, 2].map((k) => ipPacket('10.98.0.2', '10.98.0.1', Buffer.alloc(PAYLOAD, 0x41 + k), { proto, seq: 1000 + k * PAYLOAD, flags: 0x10 }));
  packets[1][packets[1].length - 7] ^= 0x20;
  return packets.map((p) => p.toString('hex'));
}

describe('segments glued for the TUN', () => {
  let lab: Lab;
  let host: LabHost;
  beforeAll(async () => {
    lab = await Lab.create();
    host = await lab.addHost('g');
  }, 30_000);
  afterAll(async () => {
    await lab?.cleanup();
  });

  const write = async (check: boolean, packets: string[]) =>
    JSON.parse(await lab.exec(host.ns, process.execPath, [HELPER, 'tsotg0', '10.98.0.1/24', check ? '1' : '0', ...packets], 20_000)) as
      { written: number; uso: boolean; tcpCsumErrors: number; udpCsumErrors: number };

  it('TCP: checked, the bad segment goes alone and the kernel counts it; unchecked, it is glued and its error goes unseen', async () => {
    const checked = await write(true, run('tcp'));
    expect(checked.written).toBe(3);
    expect(checked.tcpCsumErrors).toBe(1);
    // What checking prevents: glued, the changed byte reaches the application with a fresh checksum.
    const unchecked = await write(false, run('tcp'));
    expect(unchecked.written).toBe(3);
    expect(unchecked.tcpCsumErrors).toBe(0);
  });

  it('UDP (glued with USO): the same', async (context) => {
    const checked = await write(true, run('udp'));
    if (!checked.uso) return context.skip();
    expect(checked.written).toBe(3);
    expect(checked.udpCsumErrors).toBe(1);
    const unchecked = await write(false, run('udp'));
    expect(unchecked.udpCsumErrors).toBe(0);
  });
});
