// A daemon that falls behind: what the kernel drops at the full TUN queue
// before the daemon could read it is counted (status, /metrics, `tsoverlay
// status`), so every packet a container sends is either forwarded or counted.
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
