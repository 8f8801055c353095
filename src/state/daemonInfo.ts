// <run-dir>/daemon.json: what a running daemon tells the programs beside it
// on this host (the CNI plugin): that it runs, where its API listens, the
// bridge it made, where its DNS answers. Written once the daemon is ready,
// removed when it stops; a crash leaves it behind, so readers check the pid.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './atomicFile.js';

export interface DaemonInfo {
  pid: number;
  /** The API address as `--api` takes it: HOST:PORT or a socket path. */
  api: string;
  bridge: string | null;
  dns: { address: string; domain: string } | null;
}

const FILE = 'daemon.json';

export async function writeDaemonInfo(runDir: string, info: DaemonInfo): Promise<void> {
  await writeFileAtomic(join(runDir, FILE), `${JSON.stringify(info)}\n`);
}

export function removeDaemonInfo(runDir: string): void {
  rmSync(join(runDir, FILE), { force: true });
}

/** The file's content, or null when it is missing or does not parse. */
export function readDaemonInfo(runDir: string): DaemonInfo | null {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(join(runDir, FILE), 'utf8'));
  } catch {
    return null;
  }
  const v = value as Partial<DaemonInfo> | null;
  if (!v || typeof v.pid !== 'number' || typeof v.api !== 'string') return null;
  return { pid: v.pid, api: v.api, bridge: typeof v.bridge === 'string' ? v.bridge : null, dns: v.dns && typeof v.dns.address === 'string' && typeof v.dns.domain === 'string' ? v.dns : null };
}

/** Whether a process with this pid exists (signal 0 checks without sending). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
