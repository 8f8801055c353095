// A daemon that falls behind: what the kernel drops before the daemon could
// read it, at the full TUN queue or at the data socket's full receive buffer,
// is counted (status, /metrics, `tsoverlay status`), so every packet is
// either forwarded or counted.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '../../src/lab/lab.js';
import { type LabDaemon, TSOVERLAY_BIN } from '../../src/lab/labDaemon.js';
import { twoHosts, type Side, type TwoHosts } from '../../src/lab/twoHosts.js';
import { eventually } from '../helpers/eventually.js';
import { metric, metrics } from '../helpers/metrics.js';

const BURST = fileURLToPath(new URL('../helpers/udpBurst.mjs', import.meta.url));

/** Two udp hosts for the enclosing describe; a daemon left stopped is let go on before the lab goes. */
function udpPair(extraArgs: string[] = []): { lab: Lab; net: TwoHosts } {
  const pair = {} as { lab: Lab; net: TwoHosts };
  beforeAll(async () => {
    pair.lab = await Lab.create();
    pair.net = await twoHosts(pair.lab, 'udp', 'udp', { extraArgs });
  }, 60_000);
  afterAll(async () => {
    for (const daemon of [pair.net?.a.daemon, pair.net?.b.daemon]) {
      try {
        if (daemon?.pid) process.kill(daemon.pid, 'SIGCONT');
      } catch {
        // already gone
      }
    }
    await pair.lab?.cleanup();
  });
  return pair;
}

/** Runs `work` while the daemon is stopped (SIGSTOP): it reads nothing until SIGCONT. */
async function whileStopped(daemon: LabDaemon, work: () => Promise<unknown>): Promise<void> {
  process.kill(daemon.pid!, 'SIGSTOP');
  try {
    await work();
  } finally {
    process.kill(daemon.pid!, 'SIGCONT');
  }
}

/** `count` datagrams of 300 bytes from side `from`'s container to the other's discard port. */
const burst = (lab: Lab, from: Side, to: Side, count: number) =>
  lab.exec(from.container.ns, process.execPath, [BURST, 'send', to.container.ip, '9', String(count), '300'], 60_000);

/** What `tsoverlay status` prints for a side. */
const statusText = (lab: Lab, side: Side) => lab.exec(side.host.ns, process.execPath, [TSOVERLAY_BIN, 'status', '--api', side.daemon!.apiSocket]);

describe('the TUN queue', () => {
  const SENT = 2000; // the TUN's queue holds 500
  const pair = udpPair();

  it('counts the packets the kernel dropped while the daemon was not reading, and each one sent is forwarded or counted', async () => {
    const { lab, net } = pair;
    const daemon = net.a.daemon!;
    const before = await daemon.status();
    expect(before.tunQueueDrops).toBe(0);
    await whileStopped(daemon, () => burst(lab, net.a, net.b, SENT));
    const accounted = async () => {
      const s = await daemon.status();
      return { s, total: s.counters.tx.packets - before.counters.tx.packets + s.tunQueueDrops! };
    };
    await eventually(async () => expect((await accounted()).total).toBeGreaterThanOrEqual(SENT));
    const { s, total } = await accounted();
    expect(total).toBeLessThanOrEqual(SENT + 3); // the host's own odd packet (a router solicitation) may join them
    expect(s.tunQueueDrops).toBeGreaterThan(SENT / 2);

    expect(metric(await metrics(daemon), /^tsoverlay_tun_queue_drops_total (\d+)$/m)).toBe(s.tunQueueDrops);
    expect(await statusText(lab, net.a)).toContain(`tun_queue=${s.tunQueueDrops}`);
  }, 60_000);
});

describe('the data socket', () => {
  const SENT = 40_000; // more than the 8 MiB receive buffer holds
  // Without offloads every packet is a datagram of its own, so the socket's drops count packets.
  const pair = udpPair(['--no-offload']);

  it('counts the datagrams the kernel dropped while the receiving daemon was not reading; what was sent arrived or was counted', async () => {
    const { lab, net } = pair;
    const [sender, receiver] = [net.a.daemon!, net.b.daemon!];
    const before = { tx: (await sender.status()).counters.tx.packets, rx: (await receiver.status()).counters.rx.packets };
    expect((await receiver.status()).dataSocketDrops).toBe(0);
    await whileStopped(receiver, async () => {
      await burst(lab, net.a, net.b, SENT);
      // Until the sender has forwarded all it will: its count stands still between two looks.
      let last = -1;
      await eventually(async () => {
        const now = (await sender.status()).counters.tx.packets;
        const moved = now !== last;
        last = now;
        expect(moved).toBe(false);
      }, 30_000, 300);
    });
    const sent = await sender.status();
    const tx = sent.counters.tx.packets - before.tx;
    expect(tx + sent.tunQueueDrops!).toBeGreaterThanOrEqual(SENT);
    expect(tx + sent.tunQueueDrops!).toBeLessThanOrEqual(SENT + 3);
    const accounted = async () => {
      const s = await receiver.status();
      return { s, total: s.counters.rx.packets - before.rx + s.dataSocketDrops! };
    };
    await eventually(async () => expect((await accounted()).total).toBe(tx));
    const { s } = await accounted();
    expect(s.dataSocketDrops).toBeGreaterThan(0);
    expect(metric(await metrics(receiver), /^tsoverlay_data_socket_drops_total (\d+)$/m)).toBe(s.dataSocketDrops);
    expect(await statusText(lab, net.b)).toContain(`data_socket=${s.dataSocketDrops}`);
  }, 120_000);
});
