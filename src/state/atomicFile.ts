// Writing a file so that readers see the old content or the new, never half:
// a temporary file renamed over it. Each write has its own temporary name, so
// two writes of one file at once cannot trip over each other.
import { renameSync, writeFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';

let sequence = 0;
const temporary = (file: string) => `${file}.${process.pid}.${sequence++}.tmp`;

export async function writeFileAtomic(file: string, content: string): Promise<void> {
  const tmp = temporary(file);
  await writeFile(tmp, content);
  await rename(tmp, file);
}

export function writeFileAtomicSync(file: string, content: string): void {
  const tmp = temporary(file);
  writeFileSync(tmp, content);
  renameSync(tmp, file);
}
