// Runs iproute2's `ip`: kernel-side setup happens once at start, off the packet path.
import { UserError } from '../errors.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export class HostSetupError extends UserError {}

export async function ip(...args: string[]): Promise<string> {
  try {
    const { stdout } = await run('ip', args, { encoding: 'utf8' });
    return stdout;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new HostSetupError(`ip ${args.join(' ')}: ${stderr || (error as Error).message}`);
  }
}

/** Several `ip` commands in one run (`ip -batch -`): one process instead of one each; stops at the first that fails. */
export async function ipBatch(commands: string[][]): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = execFile('ip', ['-batch', '-'], { encoding: 'utf8' }, (error, _stdout, stderr) => {
      if (error) reject(new HostSetupError(`ip -batch (${commands.map((c) => c.join(' ')).join('; ')}): ${stderr.trim() || error.message}`));
      else resolve();
    });
    child.stdin!.end(commands.map((c) => c.join(' ')).join('\n') + '\n');
  });
}

export async function ipJson<T>(...args: string[]): Promise<T> {
  return JSON.parse(await ip('-j', ...args)) as T;
}
