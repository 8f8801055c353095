// The DNS service of one host: its record store, the server, the upstream
// forwarder, the API endpoints for records, and the link to the mode that
// shares records with other hosts.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ApiServer, optionalString, readJsonBody, requiredString } from '../api/server.js';
import type { DnsStatus } from '../api/status.js';
import type { DnsConfig } from '../config/launchConfig.js';
import { DnsServer } from '../dns/dnsServer.js';
import { type DnsRecord, qualify, RecordStore } from '../dns/recordStore.js';
import { Upstream } from '../dns/upstream.js';
import { writeFileAtomic } from '../state/atomicFile.js';
import { takeStaleNames } from '../state/staleNames.js';
import type { RouteSource } from './hostPlan.js';

export class LocalDns {
  private constructor(
    readonly store: RecordStore,
    private readonly server: DnsServer,
    private readonly upstream: Upstream,
    private readonly listen: { host: string; port: number },
    private readonly sync: () => void,
    private readonly file: string,
  ) {}

  static async start(config: DnsConfig, listen: { host: string; port: number }, source: RouteSource, runDir: string): Promise<LocalDns> {
    const store = new RecordStore(config.domain);
    // Our records survive a restart: they are state this host owns.
    const file = join(runDir, 'dns.json');
    for (const r of await readFile(file, 'utf8').then((t) => JSON.parse(t) as DnsRecord[], () => [])) {
      try {
        store.add(r.ip, r.name);
      } catch {
        // a record that no longer parses is dropped
      }
    }
    // Containers that went while this daemon was down (CNI DEL): their names go before they are shared.
    const stale = takeStaleNames(runDir);
    for (const { ip, name } of stale) store.remove(ip, name);
    if (stale.length) await writeFileAtomic(file, JSON.stringify(store.ownRecords()));
    const upstream = new Upstream(config.resolvConf, new Set([listen.host]));
    const server = new DnsServer(store, upstream, config.ttl);
    try {
      await server.listen(listen.host, listen.port);
    } catch (error) {
      upstream.close();
      throw error;
    }
    const sync = source.attachDns?.(store);
    sync?.published();
    return new LocalDns(store, server, upstream, listen, () => sync?.published(), file);
  }

  private async published(): Promise<void> {
    this.sync();
    await writeFileAtomic(this.file, JSON.stringify(this.store.ownRecords()));
  }

  async add(ip: string, name: string): Promise<void> {
    this.store.add(ip, name);
    await this.published();
  }

  async remove(ip: string, name: string): Promise<void> {
    if (this.store.remove(ip, name) > 0) await this.published();
  }

  async removeAddress(ip: string): Promise<void> {
    if (this.store.remove(ip) > 0) await this.published();
  }

  /** `POST /dns/add {ip, name}`, `POST /dns/remove {ip, name?}`, `POST /dns/lookup {name}`. */
  routes(api: ApiServer): void {
    api.on('POST /dns/add', async (req) => {
      const body = await readJsonBody(req);
      const record = this.store.add(requiredString(body, 'ip'), requiredString(body, 'name'));
      await this.published();
      return record;
    });
    api.on('POST /dns/remove', async (req) => {
      const body = await readJsonBody(req);
      const removed = this.store.remove(requiredString(body, 'ip'), optionalString(body, 'name'));
      await this.published();
      return { removed };
    });
    api.on('POST /dns/lookup', async (req) => {
      const fqdn = qualify(requiredString(await readJsonBody(req), 'name'), this.store.domain);
      return { name: fqdn, ips: this.store.lookup(fqdn) };
    });
  }

  /** resolv.conf again now (it is watched too, once a second): a reload's. */
  rereadUpstreams(): void {
    this.upstream.reload();
  }

  status(): DnsStatus {
    return {
      domain: `${this.store.domain}.`,
      listen: `${this.listen.host}:${this.listen.port}`,
      upstream: this.upstream.servers,
      entries: this.store.all(),
      counters: { ...this.server.counters, forwardsRefused: this.upstream.refused },
    };
  }

  async close(): Promise<void> {
    this.upstream.close();
    await this.server.close();
  }
}
