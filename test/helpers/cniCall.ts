// Calls the CNI plugin as a runtime on a lab host does: in the host's network
// namespace (nsenter, as podman is run), CNI_* in the environment, the config
// on stdin, a result or an error JSON on stdout.
import { spawn } from 'node:child_process';
import { CNI_PLUGIN_BIN, REFERENCE_PLUGINS } from '../../src/lab/labPodman.js';

export interface CniAnswer {
  exit: number;
  json: any;
  stdout: string;
}

export interface CniCallEnv {
  containerId?: string;
  ifname?: string;
  netns?: string;
  args?: string;
  path?: string;
}

export async function cniCall(hostNs: string, command: string, config: object | string, env: CniCallEnv = {}, omit: string[] = []): Promise<CniAnswer> {
  const vars: Record<string, string> = {
    CNI_COMMAND: command,
    CNI_CONTAINERID: env.containerId ?? '',
    CNI_IFNAME: env.ifname ?? 'eth0',
    CNI_NETNS: env.netns ?? '',
    CNI_ARGS: env.args ?? '',
    CNI_PATH: env.path ?? REFERENCE_PLUGINS,
  };
  for (const k of omit) delete vars[k];
  const child = spawn('nsenter', [`--net=/var/run/netns/${hostNs}`, CNI_PLUGIN_BIN], { env: { PATH: process.env.PATH, ...vars }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(typeof config === 'string' ? config : JSON.stringify(config));
  const exit = await new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  let json: unknown = null;
  try {
    json = stdout.trim() ? JSON.parse(stdout) : null;
  } catch {
    throw new Error(`plugin printed no JSON: ${stdout}\n${stderr}`);
  }
  return { exit, json, stdout };
}
