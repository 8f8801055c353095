// Runs a delegate plugin (bridge, and through it host-local) found in
// CNI_PATH, as libcni does: the config on stdin, the CNI_* variables in the
// environment, a result or an error JSON on stdout.
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { CniCode, CniError } from './cniError.js';
import type { DelegateConfig } from './delegateConfig.js';

export interface DelegateCall {
  command: 'ADD' | 'DEL' | 'CHECK';
  containerId: string;
  ifname: string;
  netns: string;
  args: string;
  path: string[];
}

export function findPlugin(type: string, path: string[]): string {
  for (const dir of path) {
    const file = join(dir, type);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not in this directory
    }
  }
  throw new CniError(CniCode.invalidEnvironment, `the ${type} plugin is not in CNI_PATH (${path.join(':') || 'empty'}): install containernetworking-plugins`);
}

/** The delegate's result (ADD), or null (DEL, CHECK); its own error is passed on as it is. */
export function runDelegate(config: DelegateConfig, call: DelegateCall, prevResult: unknown = undefined): Record<string, unknown> | null {
  const plugin = findPlugin(config.type, call.path);
  const input = JSON.stringify(prevResult === undefined ? config : { ...config, prevResult });
  const out = spawnSync(plugin, {
    input,
    env: { ...process.env, CNI_COMMAND: call.command, CNI_CONTAINERID: call.containerId, CNI_IFNAME: call.ifname, CNI_NETNS: call.netns, CNI_ARGS: call.args, CNI_PATH: call.path.join(':') },
    encoding: 'utf8',
    timeout: 60_000,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  if (out.error) throw new CniError(CniCode.ioFailure, `running ${plugin}: ${out.error.message}`);
  const text = out.stdout.trim();
  if (out.status !== 0) {
    const error = parseJson(text);
    const code = typeof error?.code === 'number' ? error.code : CniCode.ioFailure;
    const msg = typeof error?.msg === 'string' ? error.msg : text || `exit status ${out.status ?? out.signal}`;
    throw new CniError(code, `${config.type} ${call.command}: ${msg}`, typeof error?.details === 'string' ? error.details : undefined);
  }
  if (call.command !== 'ADD') return null;
  const result = parseJson(text);
  if (!result) throw new CniError(CniCode.decodeFailure, `${config.type} ADD printed no result JSON: ${JSON.stringify(text.slice(0, 200))}`);
  return result;
}

function parseJson(text: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
