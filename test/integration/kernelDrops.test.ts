// A daemon that falls behind: what the kernel drops before the daemon could
// read it, at the full TUN queue or at the data socket's full receive buffer,
// is counted (status, /metrics, `tsoverlay status`), so every packet is
// either forwarded or counted.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '../../src/lab/lab.js';
import { TSOVERLAY_BIN } from '../../src/lab/labDaemon.js';
import { twoHosts, type TwoHosts } from '../../src/lab/twoHosts.js';
import { eventually } from '../helpers/eventually.js';
import { metric, metrics } from '../helpers/metrics.js';

const BURST = fileURLToPath(new URL('../helpers/udpBurst.mjs', import.meta.url));
const SENT = 2000; // the TUN's queue holds 500

describe('the TUN queue', () => {
  let lab: Lab;
  let net: TwoHosts;
  beforeAll(async () => {
    lab = await Lab.create();
    net = await twoHosts(lab, 'udp');
  }, 60_000);
  afterAll(async () => {
    const pid = net?.a.daemon?.pid;
    if (pid) process.kill(pid, 'SIGCONT');
    await lab?.cleanup();
  });

  it('counts the packets the kernel dropped while the daemon was not reading, and each one sent is forwarded or counted', async () => {
    const daemon = net.a.daemon!;
    const before = await daemon.status();
    expect(before.tunQueueDrops).toBe(0);
    process.kill(daemon.pid!, 'SIGSTOP');
    try {
      await lab.exec(net.a.container.ns, process.execPath, [BURST, 'send', net.b.container.ip, '9', String(SENT), '300'], 30_000);
    } finally {
      process.kill(daemon.pid!, 'SIGCONT');
    }
    const accounted = async () => {
      const s = await daemon.status();
      return { s, total: s.counters.tx.packets - before.counters.tx.packets + s.tunQueueDrops! };
    };
    await eventually(async () => expect((await accounted()).total).toBeGreaterThanOrEqual(SENT));
    const { s, total } = await accounted();
    expect(total).toBeLessThanOrEqual(SENT + 3); // the host's own odd packet (a router solicitation) may join them
    expect(s.tunQueueDrops).toBeGreaterThan(SENT / 2);

    const text = await metrics(daemon);
    expect(metric(text, /^tsoverlay_tun_queue_drops_total (\d+)$/m)).toBe(s.tunQueueDrops);
    const human = await lab.exec(net.a.host.ns, process.execPath, [TSOVERLAY_BIN, 'status', '--api', daemon.apiSocket]);
    expect(human).toContain(`tun_queue=${s.tunQueueDrops}`);
  }, 60_000);
});

describe('the data socket', () => {
  const SENT_UNDERLAY = 40_000; // more than the 8 MiB receive buffer holds
  let lab: Lab;
  let net: TwoHosts;
  beforeAll(async () => {
    lab = await Lab.create();
    // Without offloads every packet is a datagram of its own, so the socket's drops count packets.
    net = await twoHosts(lab, 'udp', 'udp', { extraArgs: ['--no-offload'] });
  }, 60_000);
  afterAll(async () => {
    const pid = net?.b.daemon?.pid;
    if (pid) process.kill(pid, 'SIGCONT');
    await lab?.cleanup();
  });

  it('counts the datagrams the kernel dropped while the receiving daemon was not reading; what was sent arrived or was counted', async () => {
    const [sender, receiver] = [net.a.daemon!, net.b.daemon!];
    const before = { tx: (await sender.status()).counters.tx.packets, rx: (await receiver.status()).counters.rx.packets };
    expect((await receiver.status()).dataSocketDrops).toBe(0);
    process.kill(receiver.pid!, 'SIGSTOP');
    try {
      await lab.exec(net.a.container.ns, process.execPath, [BURST, 'send', net.b.container.ip, '9', String(SENT_UNDERLAY), '300'], 60_000);
      // Until the sender has forwarded all it will: its count stands still between two looks.
      let last = -1;
      await eventually(async () => {
        const now = (await sender.status()).counters.tx.packets;
        const moved = now !== last;
        last = now;
        expect(moved).toBe(false);
      }, 30_000, 300);
    } finally {
      process.kill(receiver.pid!, 'SIGCONT');
    }
    const sent = await sender.status();
    const tx = sent.counters.tx.packets - before.tx;
    expect(tx + sent.tunQueueDrops!).toBeGreaterThanOrEqual(SENT_UNDERLAY);
    expect(tx + sent.tunQueueDrops!).toBeLessThanOrEqual(SENT_UNDERLAY + 3);
    const accounted = async () => {
      const s = await receiver.status();
      return { s, total: s.counters.rx.packets - before.rx + s.dataSocketDrops! };
    };
    await eventually(async () => expect((await accounted()).total).toBe(tx));
    const { s } = await accounted();
    expect(s.dataSocketDrops).toBeGreaterThan(0);
    expect(metric(await metrics(receiver), /^tsoverlay_data_socket_drops_total (\d+)$/m)).toBe(s.dataSocketDrops);
    const human = await lab.exec(net.b.host.ns, process.execPath, [TSOVERLAY_BIN, 'status', '--api', receiver.apiSocket]);
    expect(human).toContain(`data_socket=${s.dataSocketDrops}`);
  }, 120_000);
});
