// What a mesh peer keeps under its run dir: its name, and its view of the
// allocation ring with the block it uses, so that a restart takes the same block.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { writeFileAtomic, writeFileAtomicSync } from './atomicFile.js';
import { join } from 'node:path';
import type { PersistedIpam } from '../ipam/persistedIpam.js';

export async function loadPeerName(runDir: string): Promise<string> {
  const file = join(runDir, 'peer-name');
  try {
    const name = (await readFile(file, 'utf8')).trim();
    if (/^[0-9a-f]{12}$/.test(name)) return name;
  } catch {
    // first start
  }
  const name = randomBytes(6).toString('hex');
  await mkdir(runDir, { recursive: true });
  await writeFile(file, `${name}\n`);
  return name;
}

export async function loadIpam(runDir: string): Promise<PersistedIpam | null> {
  try {
    return JSON.parse(await readFile(join(runDir, 'ipam.json'), 'utf8')) as PersistedIpam;
  } catch {
    return null;
  }
}

export async function saveIpam(runDir: string, state: PersistedIpam): Promise<void> {
  await writeFileAtomic(join(runDir, 'ipam.json'), JSON.stringify(state));
}

/** For the last moment before exit, when nothing asynchronous runs any more. */
export function saveIpamSync(runDir: string, state: PersistedIpam): void {
  writeFileAtomicSync(join(runDir, 'ipam.json'), JSON.stringify(state));
}
