// `tsoverlay launch` options, parsed once into a typed configuration.
// Every error names the option and the problem in one line.
import { UserError } from '../errors.js';
import { readFileSync } from 'node:fs';
import { type Backend, backendNames, backends } from '../dataplane/backends.js';
import { VXLAN_DEFAULT_VNI } from '../dataplane/codecs/vxlanCodec.js';
import { CONTROL_PORT } from '../mesh/meshOptions.js';
import { parseHostPort } from '../net/hostPort.js';
import { type Cidr, cidrCovers, formatCidr, isIPv4, parseCidr } from '../net/ipv4.js';
import { isUnderlay6, underlayHandle } from '../net/underlayAddress.js';
import { canonicalIPv6, isIPv6 } from '../net/ipv6.js';
import { type AnyCidr, anyCidrCovers, anyCidrOverlaps, formatAnyCidr, isCidr6Value, parseAnyCidr } from '../net/cidr.js';
import { type Cidr6, cidr6Covers, formatCidr6, parseCidr6 } from '../net/ipv6Cidr.js';
import { parseMac } from '../net/mac.js';
import { type ApiAddress, DEFAULT_API, parseApiAddress } from './apiAddress.js';
import { DEFAULT_DOCKER_API, type DockerApiAddress, parseDockerApiAddress } from './dockerApiAddress.js';
import { type CommandSpec, flag, flagBool, flagList, parseArgs, type ParsedArgs } from './args.js';

export class ConfigError extends UserError {}

/**
 * The UDP socket's address: as given, or `::` (dual stack) when an IPv6
 * underlay address is in play — this host's, or a peer's — else 0.0.0.0.
 */
function listenAddress(args: ParsedArgs, source: LaunchConfig['source'], publicIp: string | null): string {
  const v6 =
    (publicIp !== null && isIPv6(publicIp)) ||
    (source.kind === 'static' && source.routes.some((r) => isUnderlay6(r.publicIp))) ||
    (source.kind === 'mesh' && source.peers.some((p) => isIPv6(p.address))) ||
    (source.kind === 'etcd' && source.publicIpv6 !== null);
  if (!args.flags.has('listen')) return v6 ? '::' : flag(args, 'listen')!;
  const given = flag(args, 'listen')!;
  if (!isIPv4(given) && !isIPv6(given)) throw new ConfigError(`--listen ${JSON.stringify(given)}: not an IPv4 or IPv6 address`);
  if (v6 && !isIPv6(given)) throw new ConfigError(`--listen ${given} cannot reach IPv6 underlay addresses: give an IPv6 address (:: for all), which reaches IPv4 peers too`);
  return given;
}

/** A unique local range (RFC 4193), 10.32.0.0/12 spelled in IPv6: 65,536 /64 blocks. */
const DEFAULT_RANGE6 = 'fd00:10:32::/48';

export interface StaticRoute {
  /** An IPv4 or (with --network6) an IPv6 subnet. */
  cidr: AnyCidr;
  /** The peer's underlay address, IPv4 or IPv6, as the packet path names it (net/underlayAddress.ts). */
  publicIp: number;
  vtepMac: Buffer | null;
}

/** Routes and subnet given on the command line. */
export interface StaticSource {
  kind: 'static';
  backend: Backend;
  network: Cidr;
  subnet: Cidr;
  /** The IPv6 network and this host's IPv6 subnet (dual stack), or null: IPv4 only. */
  network6: Cidr6 | null;
  subnet6: Cidr6 | null;
  routes: StaticRoute[];
}

/** Network config and subnet leases from etcd, flannel's way. */
export interface EtcdSource {
  kind: 'etcd';
  endpoints: string[];
  prefix: string;
  tls: { caFile?: string; certFile?: string; keyFile?: string };
  /** etcd's authentication; null: none. */
  auth: { username: string; password: string } | null;
  leaseTtl: number;
  waitForConfig: boolean;
  /** --public-ipv6: this host's IPv6 underlay address, published as PublicIPv6; peers that publish one too get their IPv6 subnets over it. */
  publicIpv6: string | null;
}

/** Peers named on the command line; subnets agreed over the mesh, no store. */
export interface MeshSource {
  kind: 'mesh';
  backend: Backend;
  peers: { address: string; port: number }[];
  name: string | null;
  ipallocRange: Cidr;
  subnetLen: number;
  /** Dual stack (--ipv6, --ipalloc-range6): IPv6 blocks that go with the IPv4 ones; null: IPv4 only. */
  ipallocRange6: Cidr6 | null;
  subnetLen6: number;
  controlPort: number;
  reclaimAfterSeconds: number;
  connLimit: number;
}

export interface LaunchConfig {
  source: StaticSource | EtcdSource | MeshSource;
  /** null: the backend's default, or in etcd mode the config's Backend.Port. */
  port: number | null;
  vni: number | null;
  publicIp: string | null;
  iface: string | null;
  listen: string;
  tun: string;
  bridge: string | null;
  mtu: number | null;
  runDir: string;
  api: ApiAddress;
  /** null: no DNS server (--no-dns). */
  dns: DnsConfig | null;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** auto: readable lines at a terminal, JSON otherwise. */
  logFormat: 'auto' | 'json' | 'text';
  /** Mesh secret (--password, --password-file, TSOVERLAY_PASSWORD); null: no encryption. */
  password: Buffer | null;
  /** Sealed datagrams per data key before it is renewed; null: the default (2^32). */
  rekeyAfter: number | null;
  /** TUN TSO/checksum offload and UDP GSO/GRO (--no-offload turns them off). */
  offload: boolean;
  /** Masquerade traffic from the overlay to outside it (host/ipMasq.ts): --ip-masq, --no-ip-masq, else on in mesh mode only. */
  ipMasq: boolean;
  /** The directory dockerd finds plugins in, where the Docker plugin's socket goes; null: no plugin. */
  dockerPlugin: string | null;
  /** Take over from the daemon running on the run dir (a planned restart, an upgrade): daemon/takeover.ts. */
  takeover: boolean;
  /** dockerd's API, followed for container names (--docker-api; the default socket with the plugin); null: not followed. */
  dockerApi: DockerApiAddress | null;
}

export interface DnsConfig {
  /** null: the bridge address (or the TUN's, without a bridge), port 53. */
  listen: { host: string; port: number } | null;
  domain: string;
  ttl: number;
  resolvConf: string;
}


export const PASSWORD_ENV = 'TSOVERLAY_PASSWORD';
/** flannel's variables, so that its environment files work unchanged. */
export const ETCD_USERNAME_ENV = 'FLANNELD_ETCD_USERNAME';
export const ETCD_PASSWORD_ENV = 'FLANNELD_ETCD_PASSWORD';
const DAY = 24 * 3600;
/** Where dockerd looks for plugin sockets. */
export const DOCKER_PLUGIN_DIR = '/run/docker/plugins';
/** The bridge made for the Docker plugin when --bridge names none. */
export const DOCKER_PLUGIN_BRIDGE = 'tsobr0';

/** `tsoverlay launch`: every option, its default and its help, in one table (docs/configuration.md has the long form). */
export const launchCommand: CommandSpec = {
  name: 'launch',
  positionals: '[PEER[:PORT] ...]',
  summary: [
    'Runs the daemon in the foreground. The mode follows from the options:',
    '  mesh (default)   subnets agreed with the PEERs named, no store (weave\'s way)',
    '  etcd             --etcd-endpoints: flannel\'s network config and leases in etcd',
    '  static           --network, --subnet and --route given by hand',
  ].join('\n'),
  options: {
    backend: { type: 'string', value: 'sleeve|udp|vxlan', defaultText: 'sleeve (mesh), udp (static), the config\'s (etcd)', help: 'encapsulation towards the peers' },
    'public-ip': { type: 'string', value: 'IP', help: 'this host\'s underlay address, as peers reach it (mesh: none needed, peers see it; etcd: the address of --iface, or of the default route\'s interface)' },
    iface: { type: 'string', value: 'IF', help: 'the underlay interface, for its address and MTU' },
    port: { type: 'string', value: 'N', defaultText: `the backend's (${backendNames.map((n) => `${n} ${backends[n].defaultPort}`).join(', ')})`, help: 'UDP port of the data path' },
    listen: { type: 'string', value: 'IP', default: '0.0.0.0', help: 'address the UDP socket binds' },
    vni: { type: 'string', value: 'N', defaultText: String(VXLAN_DEFAULT_VNI), help: 'VXLAN network identifier' },
    tun: { type: 'string', value: 'NAME', default: 'tso0', help: 'TUN device name' },
    bridge: { type: 'string', value: 'NAME', help: 'create (or adopt) a bridge with the subnet\'s .1 for containers' },
    mtu: { type: 'string', value: 'N', defaultText: 'underlay MTU - overhead', help: 'TUN and bridge MTU' },
    'no-offload': { type: 'boolean', help: 'no TUN TSO/checksum offload, no UDP GSO/GRO' },
    config: { type: 'string', value: 'FILE', help: 'more launch options, as on the command line, one or more per line (# comments); read at start and again at reload (SIGHUP, tsoverlay reload); the command line\'s replace them (--route and peers add)' },
    'ip-masq': { type: 'boolean', defaultText: 'on in mesh mode (as weave), off in etcd and static mode (as flannel)', help: 'masquerade traffic from the overlay to destinations outside it' },
    'no-ip-masq': { type: 'boolean', help: 'never masquerade (docker then does, for docker0: --ip-masq=true)' },
    takeover: { type: 'boolean', help: 'take over from the daemon running on this run dir: it hands over and exits, this one adopts its TUN, bridge and state (a restart or an upgrade with the least outage)' },
    'docker-plugin': { type: 'boolean', help: 'serve Docker\'s network and IPAM plugin (docker network create -d tsoverlay --ipam-driver tsoverlay)' },
    'docker-plugin-dir': { type: 'string', value: 'DIR', default: DOCKER_PLUGIN_DIR, help: 'where dockerd looks for plugins: the plugin\'s socket goes here (implies --docker-plugin)' },
    'docker-api': { type: 'string', value: 'URL', defaultText: `${DEFAULT_DOCKER_API} with --docker-plugin, else none`, help: 'follow this dockerd\'s events: containers with an address in this host\'s subnet get their names in the DNS domain' },
    'run-dir': { type: 'string', value: 'DIR', default: '/run/tsoverlay', help: 'state kept between runs; subnet.env, docker.env, daemon.json' },
    api: { type: 'string', value: 'ADDR', default: DEFAULT_API, help: 'status API: HOST:PORT or a unix socket path' },
    'log-level': { type: 'string', value: 'debug|info|warn|error', default: 'info', help: 'least severe log line written' },
    'log-format': { type: 'string', value: 'auto|json|text', default: 'auto', help: 'auto: text at a terminal, JSON otherwise' },
    name: { type: 'string', value: 'NAME', defaultText: 'kept in the run dir', help: 'mesh: this peer\'s name' },
    'ipalloc-range': { type: 'string', value: 'CIDR', default: '10.32.0.0/12', help: 'mesh: the overlay network, cut into blocks' },
    'subnet-len': { type: 'string', value: 'N', default: '24', help: 'mesh: prefix length of each host\'s block' },
    ipv6: { type: 'boolean', help: 'mesh: dual stack, each host an IPv6 block of --ipalloc-range6 beside its IPv4 block' },
    'ipalloc-range6': { type: 'string', value: 'CIDR', defaultText: DEFAULT_RANGE6, help: 'mesh: the overlay\'s IPv6 network (implies --ipv6); block n of it goes with IPv4 block n' },
    'subnet-len6': { type: 'string', value: 'N', default: '64', help: 'mesh: prefix length of each host\'s IPv6 block' },
    'control-port': { type: 'string', value: 'N', default: String(CONTROL_PORT), help: 'mesh: TCP port of the control connections' },
    'reclaim-after': { type: 'string', value: 'SECONDS', default: '600', help: 'mesh: an unreachable peer\'s blocks are taken back after this' },
    'conn-limit': { type: 'string', value: 'N', default: '100', help: 'mesh: most control connections' },
    password: { type: 'string', value: 'TEXT', help: `mesh: encrypt (sleeve) with this password; better --password-file or ${PASSWORD_ENV}` },
    'password-file': { type: 'string', value: 'FILE', help: 'mesh: the password from a file' },
    'rekey-after': { type: 'string', value: 'N', defaultText: '2^32', help: 'mesh, encrypted: sealed datagrams per data key' },
    network: { type: 'string', value: 'CIDR', help: 'static: the overlay network' },
    subnet: { type: 'string', value: 'CIDR', help: 'static: this host\'s subnet' },
    network6: { type: 'string', value: 'CIDR', help: 'static: the overlay\'s IPv6 network (dual stack, with --subnet6)' },
    subnet6: { type: 'string', value: 'CIDR', help: 'static: this host\'s IPv6 subnet; --route then takes IPv6 subnets too' },
    route: { type: 'string', value: 'SUBNET=IP[@MAC]', multiple: true, help: 'static: a peer\'s subnet, its address and (vxlan) VTEP MAC' },
    'etcd-endpoints': { type: 'string', value: 'URL[,URL]', help: 'etcd: the cluster' },
    'etcd-prefix': { type: 'string', value: 'PATH', default: '/coreos.com/network', help: 'etcd: key prefix of the network config and leases' },
    'etcd-cafile': { type: 'string', value: 'FILE', help: 'etcd: CA for its TLS' },
    'etcd-certfile': { type: 'string', value: 'FILE', help: 'etcd: client certificate' },
    'etcd-keyfile': { type: 'string', value: 'FILE', help: 'etcd: client key' },
    'etcd-username': { type: 'string', value: 'NAME', help: `etcd: user, with authentication on (or ${ETCD_USERNAME_ENV})` },
    'etcd-password-file': { type: 'string', value: 'FILE', help: `etcd: that user's password, from a file (or ${ETCD_PASSWORD_ENV})` },
    'etcd-lease-ttl': { type: 'string', value: 'SECONDS', default: String(DAY), help: 'etcd: TTL of this host\'s lease' },
    'etcd-no-wait': { type: 'boolean', help: 'etcd: fail at once when there is no network config yet' },
    'public-ipv6': { type: 'string', value: 'IP', help: 'etcd: this host\'s IPv6 underlay address (PublicIPv6): peers that give one too get IPv6 subnets over it' },
    'no-dns': { type: 'boolean', help: 'no DNS server' },
    'dns-listen': { type: 'string', value: 'IP[:PORT]', defaultText: 'the bridge\'s (or TUN\'s) address, port 53', help: 'where DNS answers' },
    'dns-domain': { type: 'string', value: 'DOMAIN', default: 'weave.local', help: 'the domain served' },
    'dns-ttl': { type: 'string', value: 'SECONDS', default: '30', help: 'TTL of the answers' },
    'resolv-conf': { type: 'string', value: 'FILE', default: '/etc/resolv.conf', help: 'upstream servers for other names' },
  },
};


/**
 * The launch options in effect: the --config file's, read now, then the
 * command line's (so the command line wins where both give one option).
 */
export function loadLaunchConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): LaunchConfig {
  const cli = parseArgs(argv, launchCommand);
  const file = flag(cli, 'config');
  if (file === undefined) return parseLaunchConfig(cli, env);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`--config ${file}: ${(error as Error).message}`);
  }
  const tokens = text.split('\n').flatMap((line) => (line.trim().startsWith('#') ? [] : line.trim().split(/\s+/).filter(Boolean)));
  const fromFile = prefixed(`--config ${file}:`, () => parseArgs(tokens, launchCommand));
  // The command line's options replace the file's; repeatable ones (--route) and peers add to them.
  const flags = new Map(fromFile.flags);
  for (const [name, values] of cli.flags) flags.set(name, launchCommand.options[name]?.multiple ? [...(flags.get(name) ?? []), ...values] : values);
  return parseLaunchConfig({ ...cli, flags, positionals: [...fromFile.positionals, ...cli.positionals] }, env);
}

export function parseLaunchConfig(args: ParsedArgs, env: NodeJS.ProcessEnv = process.env): LaunchConfig {
  const publicIp = flag(args, 'public-ip') ?? null;
  if (publicIp !== null) guard('--public-ip', () => underlayHandle(publicIp));
  const tun = flag(args, 'tun')!;
  const dockerPlugin = flagBool(args, 'docker-plugin') || args.flags.has('docker-plugin-dir') ? flag(args, 'docker-plugin-dir')! : null;
  // The plugin's endpoints need a bridge that holds the gateway.
  const bridge = flag(args, 'bridge') ?? (dockerPlugin !== null ? DOCKER_PLUGIN_BRIDGE : null);
  const dockerApiText = flag(args, 'docker-api') ?? (dockerPlugin !== null ? DEFAULT_DOCKER_API : undefined);
  const iface = flag(args, 'iface') ?? null;
  for (const [name, value] of [['tun', tun], ['bridge', bridge], ['iface', iface]] as const) {
    if (value !== null && !/^[A-Za-z0-9_.-]{1,15}$/.test(value)) throw new ConfigError(`--${name} ${JSON.stringify(value)} is not a valid interface name`);
  }
  const mtuText = flag(args, 'mtu');
  const source =
    flag(args, 'etcd-endpoints') !== undefined ? parseEtcdSource(args, env)
    : flag(args, 'subnet') !== undefined ? parseStaticSource(args, publicIp)
    : parseMeshSource(args);
  if (source.kind !== 'etcd' && args.flags.has('public-ipv6')) throw new ConfigError('--public-ipv6 is for etcd mode (PublicIPv6 in the lease); static routes name IPv6 addresses in --public-ip and --route');
  if (source.kind !== 'mesh' && args.positionals.length > 0) {
    throw new ConfigError(`peer addresses (${args.positionals.join(' ')}) are for mesh mode, not with --${source.kind === 'etcd' ? 'etcd-endpoints' : 'subnet'}`);
  }
  const password = parsePassword(args, env);
  if (password !== null) {
    if (source.kind !== 'mesh') throw new ConfigError(`a password needs mesh mode: the keys are agreed over the mesh's control connections, and ${source.kind} mode has none`);
    if (!source.backend.encrypts) throw new ConfigError(`a password cannot be used with --backend ${source.backend.name}: its format carries no encryption (use --backend sleeve)`);
  }
  return {
    source,
    port: flag(args, 'port') === undefined ? null : intOption(args, 'port', 1, 65535),
    vni: flag(args, 'vni') === undefined ? null : intOption(args, 'vni', 0, 0xffffff),
    publicIp,
    iface,
    listen: listenAddress(args, source, publicIp),
    tun,
    bridge,
    mtu: mtuText === undefined ? null : intOption(args, 'mtu', 576, 65000),
    runDir: flag(args, 'run-dir')!,
    api: guard('--api', () => parseApiAddress(flag(args, 'api')!)),
    dns: flagBool(args, 'no-dns') ? null : parseDns(args),
    logLevel: oneOf(args, 'log-level', ['debug', 'info', 'warn', 'error'] as const),
    logFormat: oneOf(args, 'log-format', ['auto', 'json', 'text'] as const),
    password,
    rekeyAfter: flag(args, 'rekey-after') === undefined ? null : intOption(args, 'rekey-after', 16, 2 ** 48),
    offload: !flagBool(args, 'no-offload'),
    ipMasq: parseIpMasq(args, source.kind),
    takeover: flagBool(args, 'takeover'),
    dockerPlugin,
    dockerApi: dockerApiText === undefined ? null : guard('--docker-api', () => parseDockerApiAddress(dockerApiText)),
  };
}

/** flannel's --ip-masq, off by default as flannel has it, except in mesh mode, where weave masquerades by default. */
function parseIpMasq(args: ParsedArgs, kind: LaunchConfig['source']['kind']): boolean {
  const on = flagBool(args, 'ip-masq');
  const off = flagBool(args, 'no-ip-masq');
  if (on && off) throw new ConfigError('give --ip-masq or --no-ip-masq, not both');
  return on || (!off && kind === 'mesh');
}

/** One source only: two that disagree would be a silent surprise. */
function parsePassword(args: ParsedArgs, env: NodeJS.ProcessEnv): Buffer | null {
  const given = flag(args, 'password');
  const file = flag(args, 'password-file');
  const fromEnv = env[PASSWORD_ENV];
  const sources = [given !== undefined && '--password', file !== undefined && '--password-file', fromEnv !== undefined && fromEnv !== '' && PASSWORD_ENV].filter(Boolean);
  if (sources.length > 1) throw new ConfigError(`give the password one way, not ${sources.join(' and ')}`);
  let text: string | undefined = given ?? (fromEnv === '' ? undefined : fromEnv);
  if (file !== undefined) text = readSecretFile('--password-file', file);
  if (text === undefined) return null;
  if (text.length === 0) throw new ConfigError('the password is empty');
  return Buffer.from(text, 'utf8');
}

/** A password kept in a file; its trailing newline is not part of it. */
function readSecretFile(option: string, file: string): string {
  try {
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (error) {
    throw new ConfigError(`${option} ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
}

function parseDns(args: ParsedArgs): DnsConfig {
  const listenText = flag(args, 'dns-listen');
  let listen: DnsConfig['listen'] = null;
  if (listenText !== undefined) {
    const { address, port } = prefixed('--dns-listen', () => parseHostPort(listenText, 53));
    listen = { host: address, port };
  }
  const domain = flag(args, 'dns-domain')!.toLowerCase().replace(/\.$/, '');
  if (!/^[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(domain)) throw new ConfigError(`--dns-domain ${JSON.stringify(domain)} is not a domain name`);
  return { listen, domain, ttl: intOption(args, 'dns-ttl', 0, 86400), resolvConf: flag(args, 'resolv-conf')! };
}

function parseEtcdSource(args: ParsedArgs, env: NodeJS.ProcessEnv): EtcdSource {
  for (const name of ['backend', 'network', 'subnet', 'network6', 'subnet6', 'route', 'ipv6', 'ipalloc-range6', 'subnet-len6']) {
    if (args.flags.has(name)) throw new ConfigError(`--${name} cannot be given with --etcd-endpoints: it comes from the network config and leases in etcd`);
  }
  const endpoints = required(args, 'etcd-endpoints').split(',').map((e) => e.trim()).filter(Boolean);
  for (const e of endpoints) {
    let url: URL;
    try {
      url = new URL(e);
    } catch {
      throw new ConfigError(`--etcd-endpoints: ${JSON.stringify(e)} is not a URL (want http://HOST:PORT)`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`--etcd-endpoints: ${e}: want http:// or https://`);
  }
  return {
    kind: 'etcd',
    endpoints,
    prefix: flag(args, 'etcd-prefix')!,
    tls: { caFile: flag(args, 'etcd-cafile'), certFile: flag(args, 'etcd-certfile'), keyFile: flag(args, 'etcd-keyfile') },
    auth: parseEtcdAuth(args, env),
    leaseTtl: intOption(args, 'etcd-lease-ttl', 5, 10 * 365 * DAY),
    waitForConfig: !flagBool(args, 'etcd-no-wait'),
    publicIpv6: etcdPublicIpv6(args),
  };
}

/** --public-ipv6 (flannel's), and a --public-ip that is IPv4: a lease's PublicIP is. */
function etcdPublicIpv6(args: ParsedArgs): string | null {
  const publicIp = flag(args, 'public-ip');
  if (publicIp !== undefined && isIPv6(publicIp)) throw new ConfigError(`--public-ip ${publicIp}: etcd mode's PublicIP is IPv4 (flannel's leases); give the IPv6 address as --public-ipv6`);
  const text = flag(args, 'public-ipv6');
  if (text === undefined) return null;
  if (!isIPv6(text)) throw new ConfigError(`--public-ipv6 ${JSON.stringify(text)}: not an IPv6 address`);
  return canonicalIPv6(text);
}

/** flannel's -etcd-username/-etcd-password, as a flag and a file, or its variables. */
function parseEtcdAuth(args: ParsedArgs, env: NodeJS.ProcessEnv): EtcdSource['auth'] {
  const username = flag(args, 'etcd-username') ?? (env[ETCD_USERNAME_ENV] || undefined);
  const file = flag(args, 'etcd-password-file');
  const fromEnv = env[ETCD_PASSWORD_ENV] || undefined;
  if (file !== undefined && fromEnv !== undefined) throw new ConfigError(`give etcd's password one way, not --etcd-password-file and ${ETCD_PASSWORD_ENV}`);
  const password = file === undefined ? fromEnv : readSecretFile('--etcd-password-file', file);
  if (username === undefined && password === undefined) return null;
  if (username === undefined) throw new ConfigError(`etcd's password is given but no user: add --etcd-username (or ${ETCD_USERNAME_ENV})`);
  if (!password) throw new ConfigError(`etcd user ${JSON.stringify(username)} has no password: add --etcd-password-file (or ${ETCD_PASSWORD_ENV})`);
  return { username, password };
}

function parseMeshSource(args: ParsedArgs): MeshSource {
  for (const name of ['network', 'network6', 'subnet6', 'route']) {
    if (args.flags.has(name)) throw new ConfigError(`--${name} is for static routes (with --subnet); mesh mode takes --ipalloc-range${name.endsWith('6') ? '6' : ''}`);
  }
  const backendName = flag(args, 'backend') ?? 'sleeve';
  const backend = backends[backendName];
  if (!backend) throw new ConfigError(`unknown backend ${JSON.stringify(backendName)} (choose ${backendNames.join(' or ')})`);
  const ipallocRange = guard('--ipalloc-range', () => parseCidr(flag(args, 'ipalloc-range')!));
  const subnetLen = intOption(args, 'subnet-len', 1, 30);
  if (subnetLen <= ipallocRange.len) throw new ConfigError(`--subnet-len ${subnetLen} must be longer than --ipalloc-range's /${ipallocRange.len}`);
  if (subnetLen - ipallocRange.len > 20) throw new ConfigError(`--ipalloc-range ${formatCidr(ipallocRange)} in /${subnetLen} blocks makes more than 2^20 blocks`);
  const [ipallocRange6, subnetLen6] = meshIPv6(args, subnetLen - ipallocRange.len);
  const name = flag(args, 'name') ?? null;
  if (name !== null && !/^[A-Za-z0-9_.:-]{1,64}$/.test(name)) throw new ConfigError(`--name ${JSON.stringify(name)}: want 1-64 letters, digits, and _ . : -`);
  const peers = args.positionals.map((text) => prefixed('peer', () => parseHostPort(text, CONTROL_PORT)));
  return {
    kind: 'mesh',
    backend,
    peers,
    name,
    ipallocRange,
    subnetLen,
    ipallocRange6,
    subnetLen6,
    controlPort: intOption(args, 'control-port', 1, 65535),
    reclaimAfterSeconds: intOption(args, 'reclaim-after', 1, 365 * DAY),
    connLimit: intOption(args, 'conn-limit', 1, 10_000),
  };
}

function parseStaticSource(args: ParsedArgs, publicIp: string | null): StaticSource {
  const backendName = flag(args, 'backend') ?? 'udp';
  const backend = backends[backendName];
  if (!backend) throw new ConfigError(`unknown backend ${JSON.stringify(backendName)} (choose ${backendNames.join(' or ')})`);

  const network = cidrOption(args, 'network');
  const subnet = cidrOption(args, 'subnet');
  if (!cidrCovers(network, subnet) || subnet.len === network.len) {
    throw new ConfigError(`--subnet ${formatCidr(subnet)} is not inside --network ${formatCidr(network)}`);
  }
  if (publicIp === null) throw new ConfigError('--public-ip is required with --subnet (static routes)');
  for (const name of ['ipv6', 'ipalloc-range6', 'subnet-len6']) {
    if (args.flags.has(name)) throw new ConfigError(`--${name} is for mesh mode; static routes take --network6 and --subnet6`);
  }
  const [network6, subnet6] = staticIPv6(args);

  const own = [{ network, subnet }, ...(network6 && subnet6 ? [{ network: network6, subnet: subnet6 }] : [])];
  const routes = flagList(args, 'route').map((text) => parseRoute(text, own, backend));
  for (let i = 0; i < routes.length; i++) {
    for (let j = i + 1; j < routes.length; j++) {
      if (anyCidrOverlaps(routes[i].cidr, routes[j].cidr)) {
        throw new ConfigError(`--route ${formatAnyCidr(routes[i].cidr)} overlaps --route ${formatAnyCidr(routes[j].cidr)}`);
      }
    }
  }

  return { kind: 'static', backend, network, subnet, network6, subnet6, routes };
}

/** --ipv6 / --ipalloc-range6 and --subnet-len6, for a mesh whose IPv4 blocks number 2^bits. */
function meshIPv6(args: ParsedArgs, bits: number): [Cidr6 | null, number] {
  const subnetLen6 = intOption(args, 'subnet-len6', 1, 126);
  if (!flagBool(args, 'ipv6') && !args.flags.has('ipalloc-range6')) {
    if (args.flags.has('subnet-len6')) throw new ConfigError('--subnet-len6 is for a dual-stack mesh: add --ipv6');
    return [null, subnetLen6];
  }
  const range6 = guard('--ipalloc-range6', () => parseCidr6(flag(args, 'ipalloc-range6') ?? DEFAULT_RANGE6));
  if (subnetLen6 - range6.len < bits) {
    throw new ConfigError(`--ipalloc-range6 ${formatCidr6(range6)} in /${subnetLen6} blocks has fewer blocks than --ipalloc-range has (2^${bits}): each IPv4 block needs its IPv6 one`);
  }
  return [range6, subnetLen6];
}

/** --network6 and --subnet6: both or neither. */
function staticIPv6(args: ParsedArgs): [Cidr6, Cidr6] | [null, null] {
  const [networkText, subnetText] = [flag(args, 'network6'), flag(args, 'subnet6')];
  if (networkText === undefined && subnetText === undefined) return [null, null];
  if (networkText === undefined || subnetText === undefined) throw new ConfigError('--network6 and --subnet6 go together (a dual-stack host)');
  const network6 = guard('--network6', () => parseCidr6(networkText));
  const subnet6 = guard('--subnet6', () => parseCidr6(subnetText));
  if (!cidr6Covers(network6, subnet6) || subnet6.len === network6.len) {
    throw new ConfigError(`--subnet6 ${formatCidr6(subnet6)} is not inside --network6 ${formatCidr6(network6)}`);
  }
  // The bridge takes the subnet's ::1 and containers the addresses after it.
  if (subnet6.len > 126) throw new ConfigError(`--subnet6 ${formatCidr6(subnet6)} is too small for a bridge and containers (at most /126)`);
  return [network6, subnet6];
}

/** `SUBNET=PUBLIC_IP[@VTEP_MAC]`, the subnet inside the network of its family (IPv4, and IPv6 with --network6) and clear of our subnet there. */
function parseRoute(text: string, own: { network: AnyCidr; subnet: AnyCidr }[], backend: Backend): StaticRoute {
  const match = /^([^=]+)=([^@]+)(?:@(.+))?$/.exec(text);
  if (!match) throw new ConfigError(`--route ${JSON.stringify(text)}: want SUBNET=PUBLIC_IP[@VTEP_MAC]`);
  const cidr = guard(`--route ${text}`, () => parseAnyCidr(match[1]));
  const family = own.find((o) => isCidr6Value(o.network) === isCidr6Value(cidr));
  if (!family) throw new ConfigError(`--route ${text}: an IPv6 subnet needs --network6 and --subnet6`);
  const { network, subnet } = family;
  if (!anyCidrCovers(network, cidr)) throw new ConfigError(`--route ${text}: ${match[1]} is outside the network ${formatAnyCidr(network)}`);
  if (anyCidrOverlaps(cidr, subnet)) throw new ConfigError(`--route ${text}: ${match[1]} overlaps this host's subnet ${formatAnyCidr(subnet)}`);
  const publicIp = guard(`--route ${text}`, () => underlayHandle(match[2]));
  const vtepMac = match[3] === undefined ? null : guard(`--route ${text}`, () => parseMac(match[3]));
  if (backend.usesVtepMac && !vtepMac) throw new ConfigError(`--route ${text}: the ${backend.name} backend needs the peer's VTEP MAC (SUBNET=IP@MAC)`);
  return { cidr, publicIp, vtepMac };
}

function oneOf<T extends string>(args: ParsedArgs, name: string, choices: readonly T[]): T {
  const value = flag(args, name)!;
  if (!choices.includes(value as T)) throw new ConfigError(`--${name} ${JSON.stringify(value)}: choose ${choices.join(', ')}`);
  return value as T;
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

/** An integer option that has a value (given, or the table's default). */
function intOption(args: ParsedArgs, name: string, min: number, max: number): number {
  const text = flag(args, name)!;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) throw new ConfigError(`--${name} ${JSON.stringify(text)}: want an integer from ${min} to ${max}`);
  return value;
}

/** As guard, for messages that name the value themselves: `peer "x": want IP[:PORT]`. */
function prefixed<T>(what: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new ConfigError(`${what} ${(error as Error).message}`);
  }
}

function guard<T>(what: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new ConfigError(`${what}: ${(error as Error).message}`);
  }
}
