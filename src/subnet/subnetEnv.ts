// The files docker and CNI glue read: <run-dir>/subnet.env with flannel's
// variable names, and <run-dir>/docker.env with DOCKER_OPTS.
import { mkdir, readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../state/atomicFile.js';
import { join } from 'node:path';
import { type Cidr, formatCidr, formatIPv4, gatewayCidr, maskOf, parseCidr, parseIPv4 } from '../net/ipv4.js';
import { type Cidr6, formatCidr6, gatewayCidr6, networkWords6, parseCidr6, wordsOf } from '../net/ipv6Cidr.js';
import { parseIPv6 } from '../net/ipv6.js';

export interface SubnetEnv {
  network: Cidr;
  subnet: Cidr;
  /** Dual stack: the IPv6 network and this host's IPv6 subnet. */
  network6?: Cidr6 | null;
  subnet6?: Cidr6 | null;
  mtu: number;
  ipMasq: boolean;
}

/** flannel's mk-docker-opts rule: docker masquerades its bridge only when tsoverlay does not; with IPv6, --ipv6 and the subnet's bridge address. */
export function dockerOpts(env: SubnetEnv): string {
  const v6 = env.subnet6 ? ` --ipv6 --fixed-cidr-v6=${gatewayCidr6(env.subnet6)}` : '';
  return `--bip=${gatewayCidr(env.subnet)} --mtu=${env.mtu} --ip-masq=${!env.ipMasq}${v6}`;
}

export function formatSubnetEnv(env: SubnetEnv): string {
  const v6 = env.network6 && env.subnet6 ? [`FLANNEL_IPV6_NETWORK=${formatCidr6(env.network6)}`, `FLANNEL_IPV6_SUBNET=${gatewayCidr6(env.subnet6)}`] : [];
  return [
    `FLANNEL_NETWORK=${formatCidr(env.network)}`,
    `FLANNEL_SUBNET=${gatewayCidr(env.subnet)}`,
    ...v6,
    `FLANNEL_MTU=${env.mtu}`,
    `FLANNEL_IPMASQ=${env.ipMasq}`,
    '',
  ].join('\n');
}

/** The subnet of a gateway address with its length ("fd00:0:0:1::1/64" is fd00:0:0:1::/64). */
function subnet6OfGateway(text: string): Cidr6 {
  const [ip, lenText] = text.split('/');
  const len = Number(lenText);
  if (!/^\d{1,3}$/.test(lenText ?? '') || len > 128) throw new Error(`bad prefix length in ${text}`);
  return { family: 6, words: networkWords6(wordsOf(parseIPv6(ip)), len), len };
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
      network6: vars.has('FLANNEL_IPV6_NETWORK') ? parseCidr6(vars.get('FLANNEL_IPV6_NETWORK')!) : null,
      subnet6: vars.has('FLANNEL_IPV6_SUBNET') ? subnet6OfGateway(vars.get('FLANNEL_IPV6_SUBNET')!) : null,
      mtu: Number(vars.get('FLANNEL_MTU')),
      ipMasq: vars.get('FLANNEL_IPMASQ') === 'true',
    };
  } catch {
    return null;
  }
}

