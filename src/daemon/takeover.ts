// `launch --takeover`: a planned restart or an upgrade. The new process
// loads, parses its options and checks the state it will read while the
// running daemon still forwards; then it asks that daemon to hand over
// (SIGUSR2): the old one saves what it must and exits at once, leaving the
// persistent TUN with its address and routes, the bridge, the masquerade
// rules and the containers as they are; the new one adopts them as after a
// crash. What the old process spends on stopping and the new on loading is
// no longer part of the outage.
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { log } from '../log.js';
import { processAlive, readDaemonInfo } from '../state/daemonInfo.js';

export class TakeoverError extends UserError {}

/** The signal that asks a running daemon to hand over. */
export const HANDOVER_SIGNAL = 'SIGUSR2';
const LOCK = 'takeover.lock';
const WAIT_MS = 10_000;

/**
 * Takes over from the daemon running on this run dir, if one is: returns its
 * pid once it has exited, or null when none runs (a plain start). `check`
 * runs first: whatever it refuses leaves the running daemon alone.
 */
export async function takeOver(runDir: string, check: () => void): Promise<number | null> {
  const running = readDaemonInfo(runDir);
  if (!running || !processAlive(running.pid) || running.pid === process.pid) {
    log.info('--takeover: no daemon runs on this run dir; starting afresh', { runDir });
    return null;
  }
  lock(runDir);
  try {
    check();
  } catch (error) {
    unlock(runDir);
    throw new TakeoverError(`--takeover refused, the running daemon (pid ${running.pid}) left alone: ${(error as Error).message}`);
  }
  process.kill(running.pid, HANDOVER_SIGNAL);
  const deadline = Date.now() + WAIT_MS;
  while (processAlive(running.pid)) {
    if (Date.now() > deadline) {
      unlock(runDir);
      throw new TakeoverError(`--takeover: the running daemon (pid ${running.pid}) did not hand over within ${WAIT_MS / 1000} s; it was left as it is`);
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  log.info('took over', { from: running.pid });
  return running.pid;
}

/** The state files a successor reads must parse before the running daemon is asked to go. */
export function checkStateFiles(runDir: string, files: string[]): void {
  for (const name of files) {
    let text: string;
    try {
      text = readFileSync(join(runDir, name), 'utf8');
    } catch {
      continue; // none: nothing to read
    }
    try {
      JSON.parse(text);
    } catch {
      throw new TakeoverError(`${join(runDir, name)} does not parse`);
    }
  }
}

/** One takeover at a time: the lock names the process that holds it, and one whose process is gone is taken. */
function lock(runDir: string): void {
  const file = join(runDir, LOCK);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(readFileSync(file, 'utf8').trim());
      if (Number.isInteger(holder) && holder > 0 && processAlive(holder)) {
        throw new TakeoverError(`--takeover refused: another takeover (pid ${holder}) is in progress; the running daemon left alone`);
      }
      rmSync(file, { force: true });
    }
  }
  throw new TakeoverError(`--takeover refused: cannot take ${file}`);
}

/** Once the new daemon is ready (or gave up). */
export function unlock(runDir: string): void {
  const file = join(runDir, LOCK);
  try {
    if (Number(readFileSync(file, 'utf8').trim()) === process.pid) rmSync(file, { force: true });
  } catch {
    // none held
  }
}
