// The CNI_* variables of one call, parsed per command: what each command
// needs must be there, or the call fails with code 4 before anything is done.
import { CniCode, CniError } from './cniError.js';
import { CNI_NAME, INTERFACE_NAME } from './cniNames.js';

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION' | 'STATUS' | 'GC';
const COMMANDS: readonly CniCommand[] = ['ADD', 'DEL', 'CHECK', 'VERSION', 'STATUS', 'GC'];

export interface ContainerCall {
  containerId: string;
  ifname: string;
  /** Empty on a DEL whose namespace is gone. */
  netns: string;
  args: Map<string, string>;
  path: string[];
}

export type Invocation =
  | { command: 'ADD' | 'DEL' | 'CHECK'; call: ContainerCall }
  | { command: 'VERSION' | 'STATUS' }
  | { command: 'GC'; path: string[] };

type Env = Record<string, string | undefined>;

export function parseInvocation(env: Env): Invocation {
  const command = env.CNI_COMMAND;
  if (!command) throw new CniError(CniCode.invalidEnvironment, 'CNI_COMMAND is not set: this program is a CNI plugin, run by a container runtime');
  if (!(COMMANDS as readonly string[]).includes(command)) throw new CniError(CniCode.invalidEnvironment, `CNI_COMMAND ${JSON.stringify(command)} is not one of ${COMMANDS.join(', ')}`);
  const c = command as CniCommand;
  if (c === 'VERSION' || c === 'STATUS') return { command: c };
  if (c === 'GC') return { command: c, path: searchPath(env) };
  const ifname = required(env, 'CNI_IFNAME');
  if (!INTERFACE_NAME.test(ifname) || ifname === '.' || ifname === '..') throw new CniError(CniCode.invalidEnvironment, `CNI_IFNAME ${JSON.stringify(ifname)} is not a valid interface name`);
  const containerId = required(env, 'CNI_CONTAINERID');
  if (!CNI_NAME.test(containerId)) throw new CniError(CniCode.invalidEnvironment, `CNI_CONTAINERID ${JSON.stringify(containerId)} has characters other than letters, digits, _ . -`);
  return {
    command: c,
    call: { containerId, ifname, netns: c === 'DEL' ? (env.CNI_NETNS ?? '') : required(env, 'CNI_NETNS'), args: parseCniArgs(env.CNI_ARGS ?? ''), path: searchPath(env) },
  };
}

function required(env: Env, name: string): string {
  const v = env[name];
  if (!v) throw new CniError(CniCode.invalidEnvironment, `${name} is not set (${env.CNI_COMMAND} needs it)`);
  return v;
}

function searchPath(env: Env): string[] {
  return required(env, 'CNI_PATH').split(':').filter(Boolean);
}

/** `K=V;K2=V2`, as runtimes pass CNI_ARGS. */
function parseCniArgs(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const pair of text.split(';')) {
    const eq = pair.indexOf('=');
    if (eq > 0) out.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return out;
}
