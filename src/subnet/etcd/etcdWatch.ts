// A watch on a key prefix that survives etcd restarts: it reconnects with
// backoff from the revision after the last one seen, and asks for a full
// resync when etcd has compacted that revision away.
import type { IncomingMessage } from 'node:http';
import { decodeKv, type EtcdClient, type KeyValue, prefixEnd } from './etcdClient.js';

export type WatchEvent = { type: 'put'; kv: KeyValue } | { type: 'delete'; key: string; revision: number };

export interface WatchHandlers {
  events(events: WatchEvent[]): void;
  /** The watched revision is gone (compaction): re-read the prefix and watch on from `revision`. */
  resync(): Promise<number>;
  /** The stream broke; it will be retried. */
  lost(error: Error): void;
}

const MAX_BACKOFF_MS = 10_000;

export class PrefixWatch {
  private cancel: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private backoff = 250;
  private closed = false;

  constructor(
    private readonly client: EtcdClient,
    private readonly prefix: string,
    /** The next revision to receive. */
    private nextRevision: number,
    private readonly handlers: WatchHandlers,
  ) {}

  start(): void {
    if (this.closed) return;
    const body = {
      create_request: {
        key: Buffer.from(this.prefix).toString('base64'),
        range_end: Buffer.from(prefixEnd(this.prefix), 'latin1').toString('base64'),
        start_revision: String(this.nextRevision),
      },
    };
    this.cancel = this.client.stream('/v3/watch', body, (res) => this.read(res), (e) => this.retry(e));
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.cancel?.();
  }

  private read(res: IncomingMessage): void {
    let pending = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      pending += chunk;
      let newline: number;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, newline).trim();
        pending = pending.slice(newline + 1);
        if (line) this.message(line);
      }
    });
    res.on('end', () => this.retry(new Error('etcd closed the watch stream')));
    res.on('error', (e) => this.retry(e));
  }

  private message(line: string): void {
    let msg: { result?: { created?: boolean; canceled?: boolean; compact_revision?: string; events?: RawEvent[] }; error?: { message?: string } };
    try {
      msg = JSON.parse(line);
    } catch {
      return this.retry(new Error('etcd sent a watch message that is not JSON'));
    }
    if (msg.error) return this.retry(new Error(`etcd watch: ${msg.error.message ?? 'error'}`));
    const result = msg.result;
    if (!result) return;
    if (result.created) this.backoff = 250;
    if (result.compact_revision && Number(result.compact_revision) > 0) {
      this.cancel?.();
      this.cancel = null;
      void this.handlers.resync().then(
        (revision) => {
          this.nextRevision = revision + 1;
          this.start();
        },
        (e: Error) => this.retry(e),
      );
      return;
    }
    if (result.canceled) return this.retry(new Error('etcd canceled the watch'));
    const events = (result.events ?? []).map(decodeEvent);
    if (events.length === 0) return;
    const last = events[events.length - 1];
    this.nextRevision = (last.type === 'put' ? last.kv.modRevision : last.revision) + 1;
    this.handlers.events(events);
  }

  private retry(error: Error): void {
    if (this.closed || this.timer) return;
    this.cancel?.();
    this.cancel = null;
    this.handlers.lost(error);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.start();
    }, this.backoff);
    this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
  }
}

interface RawEvent {
  type?: 'PUT' | 'DELETE';
  kv: { key: string; value?: string; mod_revision?: string };
}

function decodeEvent(e: RawEvent): WatchEvent {
  const kv = decodeKv(e.kv);
  return e.type === 'DELETE' ? { type: 'delete', key: kv.key, revision: kv.modRevision } : { type: 'put', kv };
}
