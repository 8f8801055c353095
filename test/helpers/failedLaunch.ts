// Runs `tsoverlay launch` in a lab host for a start that should fail: its exit code and stderr.
import { spawn } from 'node:child_process';
import type { Lab, LabHost } from '../../src/lab/lab.js';
import { TSOVERLAY_BIN } from '../../src/lab/labDaemon.js';

export interface LaunchOutcome {
  code: number | null;
  stderr: string;
}

export function launchOutcome(lab: Lab, host: LabHost, args: string[], prefix: string[] = [], timeoutMs = 20_000): Promise<LaunchOutcome> {
  const argv = ['netns', 'exec', host.ns, ...prefix, process.execPath, TSOVERLAY_BIN, 'launch', ...args];
  return new Promise((resolve) => {
    const child = lab.track(spawn('ip', argv, { stdio: ['ignore', 'ignore', 'pipe'] }));
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}
