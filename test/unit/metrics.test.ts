import { setImmediate as turn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/api/metrics.js';
import type { Status } from '../../src/api/status.js';
import { newCounters } from '../../src/dataplane/counters.js';

/** The parts of a status document /metrics reads. */
const document = (txPackets: number, tunQueueDrops: number | null) =>
  ({
    backend: 'udp',
    counters: { ...newCounters(), tx: { packets: txPackets, bytes: 0, batches: 0 } },
    tunQueueDrops,
    dataSocketDrops: 5,
    peerTraffic: [],
    dns: null,
  }) as unknown as Status;

describe('/metrics', () => {
  it('builds one status document per scrape, shared by every metric, and a new one for the next', async () => {
    let built = 0;
    const registry = createMetrics({ status: () => document(++built * 10, 7) });
    const first = await registry.metrics();
    expect(built).toBe(1);
    expect(first).toMatch(/^tsoverlay_packets_total\{direction="tx",backend="udp"\} 10$/m);
    expect(first).toMatch(/^tsoverlay_tun_queue_drops_total 7$/m);
    expect(first).toMatch(/^tsoverlay_data_socket_drops_total 5$/m);
    await turn();
    const second = await registry.metrics();
    expect(built).toBe(2);
    expect(second).toMatch(/^tsoverlay_packets_total\{direction="tx",backend="udp"\} 20$/m);
  });

  it('reads a kernel count it could not read as 0 (a counter without labels is always there)', async () => {
    const text = await createMetrics({ status: () => document(1, null) }).metrics();
    expect(text).toMatch(/^tsoverlay_tun_queue_drops_total 0$/m);
  });
});
