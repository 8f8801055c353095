// The files docker and CNI glue read: <run-dir>/subnet.env with flannel's
// variable names, and <run-dir>/docker.env with DOCKER_OPTS.
import { mkdir, readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../state/atomicFile.js';
import { join } from 'node:path';
import { type Cidr, formatCidr, formatIPv4, gatewayCidr, maskOf, parseCidr, parseIPv4 } from '../net/ipv4.js';

export interface SubnetEnv {
  network: Cidr;
  subnet: Cidr;
  mtu: number;
  ipMasq: boolean;
}

/** flannel's mk-docker-opts rule: docker masquerades its bridge only when tsoverlay does not. */
export function dockerOpts(env: SubnetEnv): string {
  return `--bip=${gatewayCidr(env.subnet)} --mtu=${env.mtu} --ip-masq=${!env.ipMasq}`;
}

export function formatSubnetEnv(env: SubnetEnv): string {
  return [
    `FLANNEL_NETWORK=${formatCidr(env.network)}`,
    `FLANNEL_SUBNET=${gatewayCidr(env.subnet)}`,
    `FLANNEL_MTU=${env.mtu}`,
    `FLANNEL_IPMASQ=${env.ipMasq}`,
    '',
  ].join('\n');
}

export async function writeSubnetFiles(runDir: string, env: SubnetEnv): Promise<void> {
  await mkdir(runDir, { recursive: true });
  await writeFileAtomic(join(runDir, 'subnet.env'), formatSubnetEnv(env));
  await writeFileAtomic(join(runDir, 'docker.env'), `DOCKER_OPTS="${dockerOpts(env)}"\n`);
}

/** What an earlier run wrote, or null when there is no (readable) subnet.env. */
export async function readSubnetEnv(runDir: string): Promise<SubnetEnv | null> {
  let text: string;
  try {
    text = await readFile(join(runDir, 'subnet.env'), 'utf8');
  } catch {
    return null;
  }
  const vars = new Map(text.split('\n').map((l) => l.trim()).filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  try {
    // FLANNEL_SUBNET is the bridge address (.1/len); the subnet is its network.
    const [ip, lenText] = (vars.get('FLANNEL_SUBNET') ?? '').split('/');
    const len = Number(lenText);
    return {
      network: parseCidr(vars.get('FLANNEL_NETWORK') ?? ''),
      subnet: parseCidr(`${formatIPv4((parseIPv4(ip) & maskOf(len)) >>> 0)}/${len}`),
      mtu: Number(vars.get('FLANNEL_MTU')),
      ipMasq: vars.get('FLANNEL_IPMASQ') === 'true',
    };
  } catch {
    return null;
  }
}

