// DNS records in etcd mode: each host writes its records under
// <prefix>/dns/<name>/<ip>, bound to its subnet lease (so they go when the
// host's lease does), and watches everyone's.
import { isIPv4 } from '../net/ipv4.js';
import { isIPv6 } from '../net/ipv6.js';
import { log } from '../log.js';
import type { KeyValue } from '../subnet/etcd/etcdClient.js';
import { PrefixWatch } from '../subnet/etcd/etcdWatch.js';
import type { EtcdSubnets } from '../subnet/etcdSubnets.js';
import type { DnsRecord, RecordStore } from './recordStore.js';

interface StoredRecord extends DnsRecord {
  publicIp: string;
}

export class EtcdRecords {
  private readonly all = new Map<string, StoredRecord>();
  private readonly written = new Set<string>();
  private watch: PrefixWatch | null = null;
  private readonly prefix: string;

  constructor(
    private readonly etcd: EtcdSubnets,
    private readonly store: RecordStore,
    private readonly publicIp: string,
  ) {
    this.prefix = `${etcd.prefix.replace(/\/+$/, '')}/dns/`;
    // A lease taken again after expiry took our records with it: write them again.
    etcd.onReacquired(() => {
      this.written.clear();
      void this.publish();
    });
  }

  async start(): Promise<void> {
    const revision = await this.resync();
    this.watch = new PrefixWatch(this.etcd.client, this.prefix, revision + 1, {
      events: (events) => {
        for (const e of events) {
          if (e.type === 'put') this.take(e.kv);
          else this.all.delete(e.key);
        }
        this.refresh();
      },
      resync: () => this.resync(),
      lost: () => {},
    });
    this.watch.start();
  }

  /** Makes etcd hold exactly this host's own records. */
  async publish(): Promise<void> {
    const wanted = new Map(this.store.ownRecords().map((r) => [`${this.prefix}${r.name}/${r.ip}`, r]));
    try {
      for (const [key, r] of wanted) {
        if (this.written.has(key)) continue;
        await this.etcd.client.put(key, JSON.stringify({ Name: r.name, IP: r.ip, PublicIP: this.publicIp }), this.etcd.leaseId ?? undefined);
        this.written.add(key);
      }
      for (const key of [...this.written]) {
        if (wanted.has(key)) continue;
        await this.etcd.client.delete(key);
        this.written.delete(key);
      }
    } catch (error) {
      log.warn('cannot write DNS records to etcd; retrying', { error: (error as Error).message });
      setTimeout(() => void this.publish(), 2000).unref();
    }
  }

  close(): void {
    this.watch?.close();
  }

  private async resync(): Promise<number> {
    const { kvs, revision } = await this.etcd.client.getPrefix(this.prefix);
    this.all.clear();
    for (const kv of kvs) this.take(kv);
    this.refresh();
    return revision;
  }

  private take(kv: KeyValue): void {
    try {
      const v = JSON.parse(kv.value) as { Name?: unknown; IP?: unknown; PublicIP?: unknown };
      if (typeof v.Name === 'string' && (isIPv4(v.IP) || isIPv6(v.IP))) {
        this.all.set(kv.key, { name: v.Name.toLowerCase(), ip: v.IP, publicIp: String(v.PublicIP ?? '') });
      }
    } catch {
      // not ours to judge: a malformed record is simply not served
    }
  }

  private refresh(): void {
    this.store.setOthers([...this.all.values()].filter((r) => r.publicIp !== this.publicIp));
  }
}
