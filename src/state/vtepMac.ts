// This host's VTEP MAC, kept under the run directory so that it survives
// restarts: peers (and kernel VXLAN neighbours) hold it in their tables.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatMac, parseMac, randomMac } from '../net/mac.js';

export async function loadVtepMac(runDir: string): Promise<Buffer> {
  const file = join(runDir, 'vtep-mac');
  try {
    return parseMac((await readFile(file, 'utf8')).trim());
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const mac = randomMac();
  await mkdir(runDir, { recursive: true });
  await writeFile(file, `${formatMac(mac)}\n`);
  return mac;
}
