// Running commands for the lab: in the root namespace or inside a host's.
import { execFile, execFileSync } from 'node:child_process';

export class CommandError extends Error {
  constructor(message: string, readonly stdout: string, readonly stderr: string, readonly code: number | null) {
    super(message);
  }
}

export function run(cmd: string, args: string[], timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      if (error) {
        const code = typeof error.code === 'number' ? error.code : null;
        reject(new CommandError(`${cmd} ${args.join(' ')} failed (${code ?? error.signal ?? error.message}): ${stderr.trim() || stdout.trim()}`, stdout, stderr, code));
      } else {
        resolve(stdout);
      }
    });
  });
}

export function inNamespace(ns: string, cmd: string, args: string[], timeoutMs?: number): Promise<string> {
  return run('ip', ['netns', 'exec', ns, cmd, ...args], timeoutMs);
}

/** For exit handlers, where nothing asynchronous runs any more. */
export function runSync(cmd: string, args: string[]): void {
  try {
    execFileSync(cmd, args, { stdio: 'ignore', timeout: 10_000 });
  } catch {
    // best effort: cleanup of something already gone
  }
}
