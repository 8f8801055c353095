// <run-dir>/stale-names.json: DNS names whose container went while the
// daemon was down (a CNI DEL then has no API to call). The daemon drops them
// from its records at its next start, before it shares them: a name must not
// come back pointing at an address host-local may give to another container.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicSync } from './atomicFile.js';

export interface StaleName {
  ip: string;
  name: string;
}

const FILE = 'stale-names.json';

function read(runDir: string): StaleName[] {
  try {
    const v: unknown = JSON.parse(readFileSync(join(runDir, FILE), 'utf8'));
    return Array.isArray(v) ? v.filter((n): n is StaleName => typeof n?.ip === 'string' && typeof n?.name === 'string') : [];
  } catch {
    return [];
  }
}

export function addStaleNames(runDir: string, names: StaleName[]): void {
  writeFileAtomicSync(join(runDir, FILE), JSON.stringify([...read(runDir), ...names]));
}

/** The names left for the daemon, and the file gone. */
export function takeStaleNames(runDir: string): StaleName[] {
  const names = read(runDir);
  rmSync(join(runDir, FILE), { force: true });
  return names;
}
