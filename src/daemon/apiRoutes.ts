// The daemon's HTTP API: status, metrics, stop, expose/hide, and the
// endpoints of the mode and of DNS. Handlers parse what they take; a bad
// request is a UserError (400), never a crash.
import type { Registry } from 'prom-client';
import { ApiServer, optionalString, RawReply, readJsonBody, requiredString } from '../api/server.js';
import type { Status } from '../api/status.js';
import type { ApiAddress } from '../config/apiAddress.js';
import type { Exposure } from '../host/exposure.js';
import type { HostPlan } from './hostPlan.js';
import type { LocalDns } from './localDns.js';

export interface ApiWiring {
  address: ApiAddress;
  plan: HostPlan;
  status(): Status;
  /** Asks the lifecycle for a graceful stop, as SIGTERM does. */
  stop(): void;
  /** Re-reads the launch options, as SIGHUP does. */
  reload(): Promise<{ applied: string[]; needRestart: string[] }>;
  /** Starts a successor that takes over (`tsoverlay restart`); returns its pid. */
  restart(): number;
  exposure: Exposure;
  dns(): LocalDns | null;
}

export function buildApi(w: ApiWiring): ApiServer {
  // prom-client is loaded at the first scrape: ≈ 50 ms less before a (re)started daemon forwards.
  let metrics: Promise<Registry> | null = null;
  const registry = () => (metrics ??= import('../api/metrics.js').then((m) => m.createMetrics({ status: w.status })));
  const api = new ApiServer(w.address)
    .on('GET /status', w.status)
    .on('GET /metrics', async () => {
      const r = await registry();
      return new RawReply(r.contentType, await r.metrics());
    })
    .on('POST /stop', () => {
      setImmediate(w.stop);
      return { stopping: true };
    })
    .on('POST /reload', () => w.reload())
    .on('POST /restart', () => ({ from: process.pid, successor: w.restart() }))
    .on('POST /expose', async (req) => {
      const body = await readJsonBody(req);
      const name = optionalString(body, 'name');
      const exposed = await w.exposure.expose(optionalString(body, 'ip') ?? null);
      if (name) await w.dns()?.add(exposed, name);
      return { ip: exposed };
    })
    .on('POST /hide', async (req) => {
      const address = requiredString(await readJsonBody(req), 'ip');
      const hidden = await w.exposure.hide(address);
      if (hidden) await w.dns()?.removeAddress(address);
      return { ok: hidden };
    });
  for (const [route, handler] of Object.entries(w.plan.api)) api.on(route, handler);
  return api;
}
