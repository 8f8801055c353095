import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../src/cli/args.js';
import { ConfigError, launchFlags, parseLaunchConfig } from '../../src/config/launchConfig.js';
import { parseApiAddress } from '../../src/config/apiAddress.js';
import { formatCidr } from '../../src/net/ipv4.js';

const parse = (...argv: string[]) => parseLaunchConfig(parseArgs(argv, launchFlags));
const base = ['--network', '10.40.0.0/16', '--subnet', '10.40.1.0/24', '--public-ip', '10.201.0.1'];

describe('launch configuration', () => {
  it('takes flannel-like defaults', () => {
    const c = parse(...base);
    expect(c.backend.name).toBe('udp');
    expect(c.port).toBe(8285);
    expect(c.tun).toBe('tso0');
    expect(c.runDir).toBe('/run/tsoverlay');
    expect(c.api).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 6784 });
    expect(parse(...base, '--backend', 'vxlan').port).toBe(8472);
    expect(parse(...base, '--backend', 'vxlan').vni).toBe(1);
  });

  it('parses repeated routes with and without VTEP MACs', () => {
    const c = parse(...base, '--backend=vxlan', '--route', '10.40.2.0/24=10.201.0.2@02:00:00:00:00:02', '--route=10.40.3.0/24=10.201.0.3@02:00:00:00:00:03');
    expect(c.routes.map((r) => formatCidr(r.cidr))).toEqual(['10.40.2.0/24', '10.40.3.0/24']);
    expect(c.routes[1].vtepMac).toEqual(Buffer.from([2, 0, 0, 0, 0, 3]));
  });

  it.each([
    [['--backend', 'udp'], /--network is required/],
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

  it('reads unix-socket API addresses', () => {
    expect(parseApiAddress('/run/tsoverlay/api.sock')).toEqual({ kind: 'unix', path: '/run/tsoverlay/api.sock' });
    expect(parseApiAddress('unix:/tmp/x')).toEqual({ kind: 'unix', path: '/tmp/x' });
  });
});
