// A small etcd v3 client over etcd's JSON gateway (/v3/...): unary calls here,
// the watch stream in etcdWatch.ts. No gRPC stack to install, and every call
// is a plain HTTP request that can be read in a packet capture.
import { UserError } from '../../errors.js';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';

export interface EtcdTls {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

/** etcd's authentication (`etcdctl auth enable`): a user and its password. */
export interface EtcdAuth {
  username: string;
  password: string;
}

export interface KeyValue {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  lease: string;
}

/** etcd could not be reached at any endpoint, or did not answer in time. */
export class EtcdUnavailable extends UserError {}
/** etcd answered with an error. */
export class EtcdError extends UserError {}

const TIMEOUT_MS = 5000;

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string | undefined) => Buffer.from(s ?? '', 'base64').toString('utf8');

/** The smallest key above every key that starts with `prefix`. */
export function prefixEnd(prefix: string): string {
  const bytes = Buffer.from(prefix, 'utf8');
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i] < 0xff) {
      bytes[i]++;
      return bytes.subarray(0, i + 1).toString('latin1');
    }
  }
  return '\0';
}

interface RawKv {
  key: string;
  value?: string;
  create_revision?: string;
  mod_revision?: string;
  lease?: string;
}

export function decodeKv(kv: RawKv): KeyValue {
  return {
    key: unb64(kv.key),
    value: unb64(kv.value),
    createRevision: Number(kv.create_revision ?? 0),
    modRevision: Number(kv.mod_revision ?? 0),
    lease: kv.lease ?? '0',
  };
}

/** etcd refused the user name or password. */
export class EtcdAuthError extends UserError {}

// What etcd says when a token it gave has expired (simple tokens live 5 minutes unused) or is missing.
const TOKEN_REFUSED = /invalid auth token|auth token is not provided|user name is empty/i;

export class EtcdClient {
  private current = 0;
  private readonly tlsOptions: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  /** The token from /v3/auth/authenticate, sent as the Authorization header; null: none yet. */
  private token: string | null = null;

  constructor(readonly endpoints: string[], tls: EtcdTls = {}, private readonly auth: EtcdAuth | null = null) {
    if (endpoints.length === 0) throw new Error('no etcd endpoints');
    for (const e of endpoints) new URL(e); // throws on a malformed URL, at start
    this.tlsOptions = {
      ca: tls.caFile ? readFileSync(tls.caFile) : undefined,
      cert: tls.certFile ? readFileSync(tls.certFile) : undefined,
      key: tls.keyFile ? readFileSync(tls.keyFile) : undefined,
    };
  }

  async get(key: string): Promise<{ kv: KeyValue | null; revision: number }> {
    const r = await this.call<{ header: { revision: string }; kvs?: RawKv[] }>('/v3/kv/range', { key: b64(key) });
    return { kv: r.kvs?.length ? decodeKv(r.kvs[0]) : null, revision: Number(r.header.revision) };
  }

  async getPrefix(prefix: string): Promise<{ kvs: KeyValue[]; revision: number }> {
    const r = await this.call<{ header: { revision: string }; kvs?: RawKv[] }>('/v3/kv/range', {
      key: b64(prefix),
      range_end: Buffer.from(prefixEnd(prefix), 'latin1').toString('base64'),
    });
    return { kvs: (r.kvs ?? []).map(decodeKv), revision: Number(r.header.revision) };
  }

  async put(key: string, value: string, lease?: string): Promise<void> {
    await this.call('/v3/kv/put', { key: b64(key), value: b64(value), lease });
  }

  async delete(key: string): Promise<void> {
    await this.call('/v3/kv/deleterange', { key: b64(key) });
  }

  /** Puts `key` only if no such key exists (create revision 0); true if it did. */
  async create(key: string, value: string, lease?: string): Promise<boolean> {
    return this.putIf(key, value, lease, { target: 'CREATE', create_revision: '0' });
  }

  /** Puts `key` only if it is unchanged since `modRevision`; true if it did. */
  async replace(key: string, value: string, modRevision: number, lease?: string): Promise<boolean> {
    return this.putIf(key, value, lease, { target: 'MOD', mod_revision: String(modRevision) });
  }

  async grantLease(ttlSeconds: number): Promise<string> {
    const r = await this.call<{ ID: string }>('/v3/lease/grant', { TTL: String(ttlSeconds) });
    return r.ID;
  }

  /** Renews a lease; returns its new TTL in seconds, 0 if it is gone. */
  async keepAlive(id: string): Promise<number> {
    const r = await this.call<{ result?: { TTL?: string } }>('/v3/lease/keepalive', { ID: id });
    return Number(r.result?.TTL ?? 0);
  }

  async revokeLease(id: string): Promise<void> {
    await this.call('/v3/lease/revoke', { ID: id });
  }

  /**
   * A streaming POST (the watch); the caller reads and ends the response.
   * With authentication, each stream starts with a fresh token: a stream is
   * opened again after errors, and an expired token may be the error.
   */
  stream(path: string, body: unknown, onResponse: (res: IncomingMessage) => void, onError: (e: Error) => void): () => void {
    let cancelled = false;
    let req: ReturnType<EtcdClient['request']> | null = null;
    const open = () => {
      if (cancelled) return;
      req = this.request(path, 0);
      req.on('response', onResponse);
      req.on('error', (e) => {
        this.rotate();
        onError(e);
      });
      req.end(JSON.stringify(body));
    };
    if (this.auth) {
      this.token = null;
      this.authenticate().then(open, (e: Error) => (cancelled ? undefined : onError(e)));
    } else {
      open();
    }
    return () => {
      cancelled = true;
      req?.destroy();
    };
  }

  private async authenticate(): Promise<void> {
    const { username, password } = this.auth!;
    try {
      const r = await this.callOnce<{ token?: string }>('/v3/auth/authenticate', { name: username, password }, false);
      if (!r.token) throw new EtcdError('etcd gave no token');
      this.token = r.token;
    } catch (error) {
      if (error instanceof EtcdError) throw new EtcdAuthError(`etcd refused user ${JSON.stringify(username)}: ${error.message.replace(/^etcd: /, '')}`);
      throw error;
    }
  }

  private async putIf(key: string, value: string, lease: string | undefined, compare: Record<string, string>): Promise<boolean> {
    const r = await this.call<{ succeeded?: boolean }>('/v3/kv/txn', {
      compare: [{ key: b64(key), result: 'EQUAL', ...compare }],
      success: [{ request_put: { key: b64(key), value: b64(value), lease } }],
    });
    return r.succeeded === true;
  }

  /** One unary call, authenticated when etcd wants it: a refused token is renewed once. */
  private async call<T>(path: string, body: unknown): Promise<T> {
    if (!this.auth) return this.callOnce<T>(path, body, false);
    if (this.token === null) await this.authenticate();
    try {
      return await this.callOnce<T>(path, body, true);
    } catch (error) {
      if (!(error instanceof EtcdError) || !TOKEN_REFUSED.test(error.message)) throw error;
      await this.authenticate();
      return this.callOnce<T>(path, body, true);
    }
  }

  /** Tries each endpoint once, starting with the last that worked. */
  private async callOnce<T>(path: string, body: unknown, withToken: boolean): Promise<T> {
    let lastError: Error | null = null;
    for (let attempt = 0; attempt < this.endpoints.length; attempt++) {
      try {
        return await this.once<T>(path, body, withToken);
      } catch (error) {
        if (!(error instanceof EtcdUnavailable)) throw error;
        lastError = error;
        this.rotate();
      }
    }
    throw lastError!;
  }

  private once<T>(path: string, body: unknown, withToken: boolean): Promise<T> {
    return new Promise((resolve, reject) => {
      const req = this.request(path, TIMEOUT_MS, withToken);
      req.on('timeout', () => req.destroy(new EtcdUnavailable(`etcd at ${this.endpoint} did not answer within ${TIMEOUT_MS} ms`)));
      req.on('error', (e) => reject(e instanceof EtcdUnavailable ? e : new EtcdUnavailable(`etcd at ${this.endpoint}: ${e.message}`)));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e) => reject(new EtcdUnavailable(`etcd at ${this.endpoint}: ${e.message}`)));
        res.on('end', () => {
          let parsed: { error?: string; message?: string } & Record<string, unknown>;
          try {
            parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            return reject(new EtcdError(`etcd at ${this.endpoint} sent a reply that is not JSON (HTTP ${res.statusCode})`));
          }
          if (res.statusCode !== 200 || parsed.error) return reject(new EtcdError(`etcd: ${parsed.error ?? parsed.message ?? `HTTP ${res.statusCode}`}`));
          resolve(parsed as T);
        });
      });
      req.end(JSON.stringify(body));
    });
  }

  private request(path: string, timeout: number, withToken = this.token !== null) {
    const url = new URL(path, this.endpoint);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (withToken && this.token !== null) headers.authorization = this.token;
    const options = { method: 'POST', headers, timeout: timeout || undefined };
    return url.protocol === 'https:' ? httpsRequest(url, { ...options, ...this.tlsOptions }) : httpRequest(url, options);
  }

  get endpoint(): string {
    return this.endpoints[this.current];
  }

  private rotate(): void {
    this.current = (this.current + 1) % this.endpoints.length;
  }
}
