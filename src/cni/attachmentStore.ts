// What the plugin keeps per attachment (container, interface) under
// <dataDir>/<network>/: the delegate config it rendered, the result, the DNS
// name it gave. Written before the delegate runs, so that a DEL after a
// failed or interrupted ADD still knows what to undo, daemon or not.
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../state/atomicFile.js';
import type { DelegateConfig } from './delegateConfig.js';

export interface StoredAttachment {
  containerId: string;
  ifname: string;
  delegate: DelegateConfig;
  /** null until the delegate's ADD succeeded. */
  result: Record<string, unknown> | null;
  dnsName: string | null;
  /** The IPv4 addresses of the result, without prefix: what the DNS name points to. */
  addresses: string[];
}

export class AttachmentStore {
  private readonly dir: string;

  constructor(dataDir: string, network: string) {
    this.dir = join(dataDir, network);
  }

  private file(containerId: string, ifname: string): string {
    return join(this.dir, `${containerId}_${ifname}.json`);
  }

  get(containerId: string, ifname: string): StoredAttachment | null {
    return readStored(this.file(containerId, ifname));
  }

  put(a: StoredAttachment): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    writeFileAtomicSync(this.file(a.containerId, a.ifname), JSON.stringify(a));
  }

  remove(containerId: string, ifname: string): void {
    rmSync(this.file(containerId, ifname), { force: true });
  }

  all(): StoredAttachment[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    return names.filter((n) => n.endsWith('.json')).flatMap((n) => readStored(join(this.dir, n)) ?? []);
  }
}

function readStored(file: string): StoredAttachment | null {
  try {
    const a = JSON.parse(readFileSync(file, 'utf8')) as StoredAttachment;
    return typeof a.containerId === 'string' && typeof a.ifname === 'string' && typeof a.delegate === 'object' ? a : null;
  } catch {
    return null;
  }
}
