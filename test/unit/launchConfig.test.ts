import { describe, expect, it } from 'vitest';
import { helpText, parseArgs } from '../../src/config/args.js';
import { ConfigError, type EtcdSource, launchCommand, loadLaunchConfig, type MeshSource, parseLaunchConfig, type StaticSource } from '../../src/config/launchConfig.js';
import { blockCidr6 } from '../../src/ipam/blocks.js';
import { planReload } from '../../src/daemon/reloadPlan.js';
import { parseApiAddress } from '../../src/config/apiAddress.js';
import { masqRuleset } from '../../src/host/ipMasq.js';
import { formatAnyCidr } from '../../src/net/cidr.js';
import { parseCidr } from '../../src/net/ipv4.js';
import { formatCidr6, parseCidr6 } from '../../src/net/ipv6Cidr.js';
import { formatUnderlay, underlayHandle } from '../../src/net/underlayAddress.js';
import { dockerOpts } from '../../src/subnet/subnetEnv.js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { DAEMON_NODE_FLAGS } from '../../src/daemon/nodeFlags.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const parse = (...argv: string[]) => parseLaunchConfig(parseArgs(argv, launchCommand));
const staticSource = (...argv: string[]) => parse(...argv).source as StaticSource;
const base = ['--network', '10.40.0.0/16', '--subnet', '10.40.1.0/24', '--public-ip', '10.201.0.1'];

describe('launch configuration', () => {
  it('starts node with the daemon\'s V8 options from bin/tsoverlay\'s shebang, the ones the lab uses', () => {
    const shebang = readFileSync(new URL('../../bin/tsoverlay', import.meta.url), 'utf8').split('\n')[0];
    expect(shebang).toBe(`#!/usr/bin/env -S node ${DAEMON_NODE_FLAGS.join(' ')}`);
  });

  it('masquerades by default in mesh mode only (weave does, flannel does not), and takes --ip-masq / --no-ip-masq', () => {
    expect(parse().ipMasq).toBe(true);
    expect(parse('--no-ip-masq').ipMasq).toBe(false);
    expect(parse('--etcd-endpoints', 'http://127.0.0.1:2379').ipMasq).toBe(false);
    expect(parse('--etcd-endpoints', 'http://127.0.0.1:2379', '--ip-masq').ipMasq).toBe(true);
    expect(parse('--network', '10.40.0.0/16', '--subnet', '10.40.1.0/24', '--public-ip', '10.0.0.1').ipMasq).toBe(false);
    expect(() => parse('--ip-masq', '--no-ip-masq')).toThrow(/not both/);
  });

  it('writes flannel\'s masquerade rules for the network and this host\'s subnet', () => {
    const rules = masqRuleset(parseCidr('10.32.0.0/12'), parseCidr('10.32.5.0/24'));
    expect(rules).toContain('ip saddr 10.32.0.0/12 ip daddr 10.32.0.0/12 return');
    expect(rules).toContain('ip saddr 10.32.0.0/12 ip daddr != 224.0.0.0/4 masquerade fully-random');
    expect(rules).toContain('ip saddr != 10.32.0.0/12 ip daddr 10.32.5.0/24 return');
    expect(rules).toContain('ip saddr != 10.32.0.0/12 ip daddr 10.32.0.0/12 masquerade fully-random');
    // Replaced whole in one transaction: an old table (a crash left it) goes with the same script.
    expect(rules.indexOf('delete table ip tsoverlay')).toBeLessThan(rules.indexOf('table ip tsoverlay {'));
    expect(dockerOpts({ network: parseCidr('10.32.0.0/12'), subnet: parseCidr('10.32.5.0/24'), mtu: 1410, ipMasq: true })).toBe('--bip=10.32.5.1/24 --mtu=1410 --ip-masq=false');
    expect(dockerOpts({ network: parseCidr('10.32.0.0/12'), subnet: parseCidr('10.32.5.0/24'), mtu: 1410, ipMasq: false })).toBe('--bip=10.32.5.1/24 --mtu=1410 --ip-masq=true');
  });

  it('takes flannel-like defaults', () => {
    const c = parse(...base);
    expect(c.source.kind).toBe('static');
    expect((c.source as StaticSource).backend.name).toBe('udp');
    expect(c.port).toBeNull(); // the backend's default, resolved at start
    expect(c.tun).toBe('tso0');
    expect(c.runDir).toBe('/run/tsoverlay');
    expect(c.api).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 6784 });
    expect(staticSource(...base, '--backend', 'vxlan').backend.defaultPort).toBe(8472);
    expect(parse(...base, '--port', '4789').port).toBe(4789);
  });

  it('parses repeated routes with and without VTEP MACs', () => {
    const c = staticSource(...base, '--backend=vxlan', '--route', '10.40.2.0/24=10.201.0.2@02:00:00:00:00:02', '--route=10.40.3.0/24=10.201.0.3@02:00:00:00:00:03');
    expect(c.routes.map((r) => formatAnyCidr(r.cidr))).toEqual(['10.40.2.0/24', '10.40.3.0/24']);
    expect(c.routes[1].vtepMac).toEqual(Buffer.from([2, 0, 0, 0, 0, 3]));
  });

  it('takes an IPv6 network and subnet, and IPv6 routes beside IPv4 ones (dual stack)', () => {
    const c = staticSource(...base, '--network6', 'fd00:40::/48', '--subnet6', 'fd00:40:0:1::/64', '--route', '10.40.2.0/24=10.201.0.2', '--route', 'FD00:40:0:2::/64=10.201.0.2');
    expect(formatCidr6(c.network6!)).toBe('fd00:40::/48');
    expect(formatCidr6(c.subnet6!)).toBe('fd00:40:0:1::/64');
    expect(c.routes.map((r) => formatAnyCidr(r.cidr))).toEqual(['10.40.2.0/24', 'fd00:40:0:2::/64']);
    expect(staticSource(...base).network6).toBeNull();
    expect(dockerOpts({ network: parseCidr('10.40.0.0/16'), subnet: parseCidr('10.40.1.0/24'), subnet6: c.subnet6, mtu: 1410, ipMasq: true })).toBe('--bip=10.40.1.1/24 --mtu=1410 --ip-masq=false --ipv6 --fixed-cidr-v6=fd00:40:0:1::1/64');
  });

  it('takes a dual-stack mesh: --ipv6 with the default IPv6 range, or --ipalloc-range6 and --subnet-len6', () => {
    const mesh = (...argv: string[]) => parse(...argv).source as MeshSource;
    expect(mesh().ipallocRange6).toBeNull();
    expect(formatCidr6(mesh('--ipv6').ipallocRange6!)).toBe('fd00:10:32::/48');
    expect(mesh('--ipv6').subnetLen6).toBe(64);
    const custom = mesh('--ipalloc-range6', 'fd12:3456::/32', '--subnet-len6', '80');
    expect([formatCidr6(custom.ipallocRange6!), custom.subnetLen6]).toEqual(['fd12:3456::/32', 80]);
    const space = { range: parseCidr6('fd00:10:32::/48'), blockLen: 64 };
    expect([0, 1, 255, 4095].map((n) => formatCidr6(blockCidr6(space, n)))).toEqual(['fd00:10:32::/64', 'fd00:10:32:1::/64', 'fd00:10:32:ff::/64', 'fd00:10:32:fff::/64']);
    expect(formatCidr6(blockCidr6({ range: parseCidr6('fd00::/8'), blockLen: 120 }, 3))).toBe('fd00::300/120');
  });

  it('takes an IPv6 underlay: a dual-stack socket when an IPv6 address is this host\'s or a peer\'s, handles for IPv6 peers', () => {
    expect(parse(...base).listen).toBe('0.0.0.0');
    const v6 = parse('--network', '10.40.0.0/16', '--subnet', '10.40.1.0/24', '--public-ip', 'fd99::1', '--route', '10.40.2.0/24=FD99::2');
    expect(v6.listen).toBe('::');
    const route = (v6.source as StaticSource).routes[0];
    expect(formatUnderlay(route.publicIp)).toBe('fd99::2');
    expect(route.publicIp).toBe(underlayHandle('fd99:0::2')); // one handle per address, whatever its spelling
    expect(parse(...base, '--route', '10.40.2.0/24=fd99::2').listen).toBe('::'); // a mixed host
    expect(parse(...base, '--route', '10.40.2.0/24=fd99::2', '--listen', 'fd99::1').listen).toBe('fd99::1');
    expect((parse('--etcd-endpoints', 'http://127.0.0.1:2379', '--public-ipv6', 'FD99::7').source as EtcdSource).publicIpv6).toBe('fd99::7');
    expect(parse('--etcd-endpoints', 'http://127.0.0.1:2379', '--public-ipv6', 'fd99::7').listen).toBe('::');
    expect(formatUnderlay(underlayHandle('10.0.0.1'))).toBe('10.0.0.1');
    // Mesh peers by IPv6 address, bare or bracketed with a port.
    const mesh = parse('FD99::2', '[fd99::3]:7000', '10.0.0.4');
    expect((mesh.source as MeshSource).peers).toEqual([{ address: 'fd99::2', port: 6783 }, { address: 'fd99::3', port: 7000 }, { address: '10.0.0.4', port: 6783 }]);
    expect(mesh.listen).toBe('::');
    expect(parse('--public-ip', 'fd99::1').listen).toBe('::');
    expect(parse('10.0.0.4').listen).toBe('0.0.0.0');
  });

  it.each([
    [[...base, '--route', '10.40.2.0/24=fd99::2', '--listen', '0.0.0.0'], /--listen 0.0.0.0 cannot reach IPv6 underlay addresses/],
    [['--network', '10.40.0.0/16', '--subnet', '10.40.1.0/24', '--public-ip', '240.0.0.1'], /reserved: not an underlay address/],
    [[...base, '--route', '10.40.2.0/24=fd99::2%eth0'], /--route 10.40.2.0\/24=fd99::2%eth0: not an IPv4 or IPv6 address/],
    [['[fd99::1'], /peer "\[fd99::1": want IP\[:PORT\]/],
    [['[fd99::1]:70000'], /port out of range/],
    [['[10.0.0.1]:6783'], /not an IPv6 address/],
    [['--etcd-endpoints', 'http://127.0.0.1:2379', '--public-ip', 'fd99::1'], /give the IPv6 address as --public-ipv6/],
    [['--etcd-endpoints', 'http://127.0.0.1:2379', '--public-ipv6', '10.0.0.1'], /--public-ipv6 "10.0.0.1": not an IPv6 address/],
    [[...base, '--public-ipv6', 'fd99::1'], /--public-ipv6 is for etcd mode/],
  ])('refuses underlay flags %j', (argv, message) => {
    expect(() => parse(...(argv as string[]))).toThrow(message as RegExp);
  });

  it.each([
    [['--ipalloc-range6', 'fd00:10:32::/56'], /fewer blocks than --ipalloc-range has \(2\^12\)/],
    [['--ipv6', '--subnet-len6', '127'], /--subnet-len6 "127": want an integer from 1 to 126/],
    [['--subnet-len6', '64'], /--subnet-len6 is for a dual-stack mesh: add --ipv6/],
    [['--ipalloc-range6', '10.0.0.0/8'], /--ipalloc-range6: not an IPv6 address/],
    [['--network6', 'fd00::/48'], /mesh mode takes --ipalloc-range6/],
    [[...base, '--ipv6'], /--ipv6 is for mesh mode; static routes take --network6 and --subnet6/],
    [['--etcd-endpoints', 'http://127.0.0.1:2379', '--ipalloc-range6', 'fd00::/48'], /--ipalloc-range6 cannot be given with --etcd-endpoints/],
  ])('refuses mesh IPv6 flags %j', (argv, message) => {
    expect(() => parse(...(argv as string[]))).toThrow(message as RegExp);
  });

  it.each([
    [['--network6', 'fd00:40::/48'], /--network6 and --subnet6 go together/],
    [['--network6', 'fd00:40::/48', '--subnet6', 'fd00:41::/64'], /--subnet6 fd00:41::\/64 is not inside --network6/],
    [['--network6', 'fd00:40::/48', '--subnet6', 'fd00:40::/48'], /is not inside/],
    [['--network6', 'fd00:40::1/48', '--subnet6', 'fd00:40::/64'], /host bits set \(did you mean fd00:40::\/48\?\)/],
    [['--network6', 'fd00:40::/48', '--subnet6', 'fd00:40::/127'], /at most \/126/],
    [['--network6', 'fd00:40::/129', '--subnet6', 'fd00:40::/64'], /bad prefix length/],
    [['--route', 'fd00:40:0:2::/64=10.201.0.2'], /an IPv6 subnet needs --network6/],
    [['--network6', 'fd00:40::/48', '--subnet6', 'fd00:40:0:1::/64', '--route', 'fd00:40:0:1:8000::/65=10.201.0.2'], /overlaps this host's subnet fd00:40:0:1::\/64/],
    [['--network6', 'fd00:40::/48', '--subnet6', 'fd00:40:0:1::/64', '--route', 'fd00:41::/64=10.201.0.2'], /outside the network fd00:40::\/48/],
    [['--network6', 'fd00:40::/48', '--subnet6', 'fd00:40:0:1::/64', '--route', 'fd00:40:0:2::/64=10.201.0.2', '--route', 'fd00:40:0:2::/80=10.201.0.3'], /overlaps --route/],
  ])('refuses dual-stack flags %j', (extra, message) => {
    expect(() => parse(...base, ...(extra as string[]))).toThrow(message as RegExp);
  });

  it.each([
    [['--subnet', '10.40.1.0/24', '--public-ip', '10.201.0.1'], /--network is required/],
    [['--network', '10.40.0.0/16'], /--network is for static routes/],
    [['--ipalloc-range', '10.32.0.0/12', '--subnet-len', '12'], /--subnet-len 12 must be longer/],
    [['not-a-peer'], /peer "not-a-peer": want IP\[:PORT\]/],
    [[...base, '--route', '10.40.2.0/24=10.201.0.2', '--route', '10.40.2.128/25=10.201.0.3'], /overlaps --route/],
    [[...base, '--route', '10.41.2.0/24=10.201.0.2'], /outside the network/],
    [[...base, '--route', '10.40.2.0/24'], /want SUBNET=PUBLIC_IP/],
    [[...base, '--port', '70000'], /--port "70000": want an integer from 1 to 65535/],
    [[...base, '--tun', 'a-name-much-too-long'], /not a valid interface name/],
    [[...base, '--api', 'nowhere'], /--api: bad API address/],
  ])('refuses %j', (argv, message) => {
    expect(() => parse(...(argv as string[]))).toThrow(ConfigError);
    expect(() => parse(...(argv as string[]))).toThrow(message as RegExp);
  });

  it('reads etcd mode options, and refuses what etcd decides', () => {
    const c = parse('--etcd-endpoints', 'http://10.0.0.5:2379,https://10.0.0.6:2379', '--etcd-lease-ttl', '60', '--iface', 'eth0');
    const source = c.source as EtcdSource;
    expect(source.kind).toBe('etcd');
    expect(source.endpoints).toEqual(['http://10.0.0.5:2379', 'https://10.0.0.6:2379']);
    expect(source.prefix).toBe('/coreos.com/network');
    expect(source.leaseTtl).toBe(60);
    expect(source.waitForConfig).toBe(true);
    expect(c.iface).toBe('eth0');
    expect(() => parse('--etcd-endpoints', 'http://x:2379', '--subnet', '10.1.1.0/24')).toThrow(/--subnet cannot be given with --etcd-endpoints/);
    expect(() => parse('--etcd-endpoints', 'x:2379')).toThrow(/want http:\/\/ or https:\/\//);
    expect(() => parse('--etcd-endpoints', 'http://x:2379', '--etcd-lease-ttl', '1')).toThrow(/--etcd-lease-ttl "1": want an integer from 5/);
  });

  it('reads unix-socket API addresses', () => {
    expect(parseApiAddress('/run/tsoverlay/api.sock')).toEqual({ kind: 'unix', path: '/run/tsoverlay/api.sock' });
    expect(parseApiAddress('unix:/tmp/x')).toEqual({ kind: 'unix', path: '/tmp/x' });
  });

  it('takes the password from one place only, and only where it can be honoured', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tso-pw-'));
    const file = join(dir, 'password');
    writeFileSync(file, 'from a file\n');
    expect(parse('--password-file', file).password?.toString()).toBe('from a file');
    expect(parseLaunchConfig(parseArgs([], launchCommand), { TSOVERLAY_PASSWORD: 'from env' }).password?.toString()).toBe('from env');
    expect(parse().password).toBeNull();
    expect(parse().source).toMatchObject({ kind: 'mesh', backend: { name: 'sleeve' } });
    expect(() => parseLaunchConfig(parseArgs(['--password', 'x'], launchCommand), { TSOVERLAY_PASSWORD: 'y' })).toThrow(/one way, not --password and TSOVERLAY_PASSWORD/);
    expect(() => parse('--password', 'x', '--backend', 'udp')).toThrow(/cannot be used with --backend udp: its format carries no encryption/);
    expect(() => parse('--password', 'x', '--backend', 'vxlan')).toThrow(/--backend vxlan/);
    expect(() => parse(...base, '--password', 'x')).toThrow(/needs mesh mode/);
    expect(() => parse('--password-file', join(dir, 'missing'))).toThrow(/--password-file .*: no such file/);
    writeFileSync(file, '\n');
    expect(() => parse('--password-file', file)).toThrow(/password is empty/);
    rmSync(dir, { recursive: true });
  });

  it('takes etcd credentials as flannel does: a user and a password file, or its variables', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tso-etcdpw-'));
    const file = join(dir, 'password');
    writeFileSync(file, 'horse\n');
    const etcd = (argv: string[], env: NodeJS.ProcessEnv = {}) => (parseLaunchConfig(parseArgs(['--etcd-endpoints', 'http://x:2379', ...argv], launchCommand), env).source as EtcdSource).auth;
    expect(etcd([])).toBeNull();
    expect(etcd(['--etcd-username', 'tso', '--etcd-password-file', file])).toEqual({ username: 'tso', password: 'horse' });
    expect(etcd([], { FLANNELD_ETCD_USERNAME: 'tso', FLANNELD_ETCD_PASSWORD: 'env horse' })).toEqual({ username: 'tso', password: 'env horse' });
    expect(() => etcd(['--etcd-username', 'tso'])).toThrow(/etcd user "tso" has no password/);
    expect(() => etcd(['--etcd-password-file', file])).toThrow(/no user: add --etcd-username/);
    expect(() => etcd(['--etcd-username', 'tso', '--etcd-password-file', join(dir, 'missing')])).toThrow(/--etcd-password-file .*: no such file/);
    expect(() => etcd(['--etcd-username', 'tso', '--etcd-password-file', file], { FLANNELD_ETCD_PASSWORD: 'x' })).toThrow(/one way, not --etcd-password-file and FLANNELD_ETCD_PASSWORD/);
    rmSync(dir, { recursive: true });
  });

  it('has one table for parsing and for --help: every option listed, defaults applied as shown', () => {
    const help = helpText(launchCommand);
    for (const [name, o] of Object.entries(launchCommand.options)) {
      expect(help).toContain(`--${name}`);
      if (o.default !== undefined) expect(help).toContain(`[default: ${o.default}]`);
    }
    const c = parse();
    expect([c.tun, c.listen, c.runDir, c.logLevel, c.dns?.domain, c.dns?.ttl]).toEqual(['tso0', '0.0.0.0', '/run/tsoverlay', 'info', 'weave.local', 30]);
    expect(parseArgs(['--help'], launchCommand).help).toBe(true);
    expect(() => parseArgs(['--nope'], launchCommand)).toThrow(/unknown option --nope \('tsoverlay launch --help' lists them\)/);
    expect(() => parseArgs(['--tun'], launchCommand)).toThrow(/^--tun needs a value$/);
    expect(() => parseArgs(['--tun', 'a', '--tun', 'b'], launchCommand)).toThrow(/--tun given twice/);
    expect(parseArgs(['--route', 'a', '--route', 'b'], launchCommand).flags.get('route')).toEqual(['a', 'b']);
  });
});

describe('what a reload may change', () => {
  const mesh = (...argv: string[]) => parse(...argv);
  it('takes the log level, mesh peers, static routes and a rotated password; names the rest', () => {
    expect(planReload(mesh('10.0.0.1'), mesh('10.0.0.1', '10.0.0.2', '--log-level', 'debug'))).toEqual({ logLevel: true, password: false, peers: true, routes: false, fixed: [] });
    expect(planReload(mesh('--password', 'a'), mesh('--password', 'b'))).toMatchObject({ password: true, fixed: [] });
    expect(planReload(mesh(), mesh('--password', 'b')).fixed).toEqual(['--password (on or off: the encryption itself)']);
    expect(planReload(mesh(), mesh('--mtu', '1300', '--ipalloc-range', '10.40.0.0/16')).fixed).toEqual(['--mtu', '--ipalloc-range']);
    const st = (...more: string[]) => parse('--network', '10.40.0.0/16', '--subnet', '10.40.1.0/24', '--public-ip', '10.0.0.1', ...more);
    expect(planReload(st(), st('--route', '10.40.2.0/24=10.0.0.2'))).toMatchObject({ routes: true, peers: false, fixed: [] });
    expect(planReload(st(), mesh()).fixed).toEqual(['--public-ip', '--ip-masq', 'mode (--etcd-endpoints, --subnet)']);
  });

  it('reads a --config file before the command line, which wins', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tso-config-'));
    try {
      const file = join(dir, 'launch.conf');
      writeFileSync(file, '# comment\n--log-level debug --mtu 1300\n10.0.0.7\n');
      const config = loadLaunchConfig(['--config', file, '--mtu', '1200', '10.0.0.8']);
      expect(config).toMatchObject({ logLevel: 'debug', mtu: 1200 });
      expect(config.source.kind === 'mesh' && config.source.peers.map((p) => p.address)).toEqual(['10.0.0.7', '10.0.0.8']);
      writeFileSync(file, '--mtu x\n');
      expect(() => loadLaunchConfig(['--config', file])).toThrow(ConfigError);
      expect(() => loadLaunchConfig(['--config', join(dir, 'missing')])).toThrow(/--config .*missing/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
