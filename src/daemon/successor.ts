// `tsoverlay restart`: the daemon starts its own successor, its command line
// with --takeover, which takes over as any `launch --takeover` does
// (takeover.ts). As this process's child it runs where this one does: under
// systemd, in the unit's cgroup, where its MAINPID (systemdNotify.ts) makes
// it the unit's main process.
import { spawn } from 'node:child_process';

export function startSuccessor(): number {
  const args = process.argv.slice(2);
  if (!args.includes('--takeover')) args.push('--takeover');
  // Its own session: a signal to our process group (a terminal's ^C) is not for it.
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1], ...args], { detached: true, stdio: ['ignore', 'inherit', 'inherit'] });
  child.unref();
  if (child.pid === undefined) throw new Error('the successor did not start');
  return child.pid;
}
