// `tsoverlay launch` options, parsed once into a typed configuration.
// Every error names the option and the problem in one line.
import { type Backend, backendNames, backends } from '../dataplane/backends.js';
import { VXLAN_DEFAULT_VNI } from '../dataplane/codecs/vxlanCodec.js';
import { flag, flagList, type ParsedArgs } from '../cli/args.js';
import { type Cidr, cidrCovers, cidrOverlaps, formatCidr, parseCidr, parseIPv4 } from '../net/ipv4.js';
import { parseMac } from '../net/mac.js';
import { type ApiAddress, DEFAULT_API, parseApiAddress } from './apiAddress.js';

export class ConfigError extends Error {}

export interface StaticRoute {
  cidr: Cidr;
  publicIp: number;
  vtepMac: Buffer | null;
}

export interface LaunchConfig {
  backend: Backend;
  port: number;
  vni: number;
  network: Cidr;
  subnet: Cidr;
  publicIp: string;
  listen: string;
  routes: StaticRoute[];
  tun: string;
  bridge: string | null;
  mtu: number | null;
  runDir: string;
  api: ApiAddress;
}

export const launchFlags = {
  values: ['backend', 'network', 'subnet', 'public-ip', 'port', 'vni', 'tun', 'bridge', 'mtu', 'run-dir', 'api', 'listen'],
  repeatable: ['route'],
} as const;

export function parseLaunchConfig(args: ParsedArgs): LaunchConfig {
  const backendName = flag(args, 'backend') ?? 'udp';
  const backend = backends[backendName];
  if (!backend) throw new ConfigError(`unknown backend ${JSON.stringify(backendName)} (choose ${backendNames.join(' or ')})`);

  const network = cidrOption(args, 'network');
  const subnet = cidrOption(args, 'subnet');
  if (!cidrCovers(network, subnet) || subnet.len === network.len) {
    throw new ConfigError(`--subnet ${formatCidr(subnet)} is not inside --network ${formatCidr(network)}`);
  }
  const publicIp = required(args, 'public-ip');
  guard('--public-ip', () => parseIPv4(publicIp));

  const routes = flagList(args, 'route').map((text) => parseRoute(text, network, subnet, backend));
  for (let i = 0; i < routes.length; i++) {
    for (let j = i + 1; j < routes.length; j++) {
      if (cidrOverlaps(routes[i].cidr, routes[j].cidr)) {
        throw new ConfigError(`--route ${formatCidr(routes[i].cidr)} overlaps --route ${formatCidr(routes[j].cidr)}`);
      }
    }
  }

  const tun = flag(args, 'tun') ?? 'tso0';
  const bridge = flag(args, 'bridge') ?? null;
  for (const [name, value] of [['tun', tun], ['bridge', bridge]] as const) {
    if (value !== null && !/^[A-Za-z0-9_.-]{1,15}$/.test(value)) throw new ConfigError(`--${name} ${JSON.stringify(value)} is not a valid interface name`);
  }
  const mtuText = flag(args, 'mtu');
  return {
    backend,
    port: intOption(args, 'port', backend.defaultPort, 1, 65535),
    vni: intOption(args, 'vni', VXLAN_DEFAULT_VNI, 0, 0xffffff),
    network,
    subnet,
    publicIp,
    listen: flag(args, 'listen') ?? '0.0.0.0',
    routes,
    tun,
    bridge,
    mtu: mtuText === undefined ? null : intOption(args, 'mtu', 0, 576, 65000),
    runDir: flag(args, 'run-dir') ?? '/run/tsoverlay',
    api: guard('--api', () => parseApiAddress(flag(args, 'api') ?? DEFAULT_API)),
  };
}

/** `SUBNET=PUBLIC_IP[@VTEP_MAC]` */
function parseRoute(text: string, network: Cidr, subnet: Cidr, backend: Backend): StaticRoute {
  const match = /^([^=]+)=([^@]+)(?:@(.+))?$/.exec(text);
  if (!match) throw new ConfigError(`--route ${JSON.stringify(text)}: want SUBNET=PUBLIC_IP[@VTEP_MAC]`);
  const cidr = guard(`--route ${text}`, () => parseCidr(match[1]));
  if (!cidrCovers(network, cidr)) throw new ConfigError(`--route ${text}: ${match[1]} is outside the network ${formatCidr(network)}`);
  if (cidrOverlaps(cidr, subnet)) throw new ConfigError(`--route ${text}: ${match[1]} overlaps this host's subnet ${formatCidr(subnet)}`);
  const publicIp = guard(`--route ${text}`, () => parseIPv4(match[2]));
  const vtepMac = match[3] === undefined ? null : guard(`--route ${text}`, () => parseMac(match[3]));
  if (backend.usesVtepMac && !vtepMac) throw new ConfigError(`--route ${text}: the ${backend.name} backend needs the peer's VTEP MAC (SUBNET=IP@MAC)`);
  return { cidr, publicIp, vtepMac };
}

function required(args: ParsedArgs, name: string): string {
  const value = flag(args, name);
  if (value === undefined) throw new ConfigError(`--${name} is required`);
  return value;
}

function cidrOption(args: ParsedArgs, name: string): Cidr {
  const text = required(args, name);
  return guard(`--${name}`, () => parseCidr(text));
}

function intOption(args: ParsedArgs, name: string, fallback: number, min: number, max: number): number {
  const text = flag(args, name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) throw new ConfigError(`--${name} ${JSON.stringify(text)}: want an integer from ${min} to ${max}`);
  return value;
}

function guard<T>(what: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new ConfigError(`${what}: ${(error as Error).message}`);
  }
}
