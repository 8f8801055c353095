// What the Docker plugin has handed out, kept in <run-dir>/docker-plugin.json
// so that neither a dockerd restart nor a tsoverlay restart hands an address
// out twice. Every change is on disk before Docker hears the answer.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { isCidr, isIPv4 } from '../net/ipv4.js';
import { canonicalIPv6, isIPv6 } from '../net/ipv6.js';
import { isCidr6 } from '../net/ipv6Cidr.js';
import { writeFileAtomic } from '../state/atomicFile.js';

export interface PluginNetwork {
  /** The pool's CIDR: this host's subnet when the network was created. */
  pool: string;
  gateway: string;
  /** Dual stack (docker network create --ipv6): the IPv6 pool and gateway. */
  pool6?: string;
  gateway6?: string;
}

export interface PluginEndpoint {
  network: string;
  /** ip/len, as Docker gave it. */
  address: string;
  /** Its IPv6 ip/len, on a dual-stack network. */
  address6?: string;
  mac: string;
}

export interface PluginStateData {
  version: 1;
  /** Address -> the MAC of the endpoint it was given to ('' when Docker sent none). */
  addresses: Record<string, string>;
  /** Where the next free-address search starts: addresses are not reused at once. */
  cursor: number;
  /** The same for IPv6: the offset into the IPv6 share, in hex (it outgrows a number). */
  cursor6?: string;
  networks: Record<string, PluginNetwork>;
  endpoints: Record<string, PluginEndpoint>;
}

export class PluginStateError extends UserError {}

const FILE = 'docker-plugin.json';

export class PluginState {
  private saving: Promise<void> = Promise.resolve();

  private constructor(readonly data: PluginStateData, private readonly file: string) {}

  /** The state of the run before; a file that is there but does not parse is refused, not replaced. */
  static load(runDir: string): PluginState {
    const file = join(runDir, FILE);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return new PluginState({ version: 1, addresses: {}, cursor: 0, networks: {}, endpoints: {} }, file);
    }
    return new PluginState(parseState(text, file), file);
  }

  /** Writes the state as it is when the write starts; writes go one after another, so the last one has every change. */
  save(): Promise<void> {
    const next = this.saving.then(() => writeFileAtomic(this.file, JSON.stringify(this.data)));
    this.saving = next.catch(() => {});
    return next;
  }
}

function parseState(text: string, file: string): PluginStateData {
  const refuse = (why: string): never => {
    throw new PluginStateError(`${file}: ${why}; the Docker plugin's addresses cannot be trusted: move the file away to start afresh (and remove the plugin's networks)`);
  };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return refuse('not JSON');
  }
  const d = v as Partial<PluginStateData> | null;
  if (!d || typeof d !== 'object') return refuse('not an object');
  if (d.version !== 1) return refuse(`version ${JSON.stringify(d.version)}, this tsoverlay reads version 1`);
  const record = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
  if (!record(d.addresses) || !Object.entries(d.addresses).every(([ip, mac]) => (isIPv4(ip) || (isIPv6(ip) && canonicalIPv6(ip) === ip)) && typeof mac === 'string')) return refuse('bad addresses');
  if (!Number.isInteger(d.cursor)) return refuse('bad cursor');
  if (d.cursor6 !== undefined && !(typeof d.cursor6 === 'string' && /^[0-9a-f]{1,32}$/.test(d.cursor6))) return refuse('bad cursor6');
  const ipv6Part = (n: Record<string, unknown>) => (n.pool6 === undefined && n.gateway6 === undefined) || (isCidr6(n.pool6) && isIPv6(n.gateway6));
  if (!record(d.networks) || !Object.values(d.networks).every((n) => record(n) && isCidr(n.pool) && isIPv4(n.gateway) && ipv6Part(n))) return refuse('bad networks');
  const endpoint = (e: Record<string, unknown>) => typeof e.network === 'string' && typeof e.address === 'string' && typeof e.mac === 'string' && (e.address6 === undefined || typeof e.address6 === 'string');
  if (!record(d.endpoints) || !Object.values(d.endpoints).every((e) => record(e) && endpoint(e))) {
    return refuse('bad endpoints');
  }
  return d as PluginStateData;
}
