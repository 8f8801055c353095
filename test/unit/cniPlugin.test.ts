// The CNI plugin's parsing and rendering, without a runtime: configs of every
// version, CNI_* variables per command, DNS names from CNI_ARGS, and the
// bridge config rendered from a host's subnet.
import { describe, expect, it } from 'vitest';
import { CniError } from '../../src/cni/cniError.js';
import { containerDnsName } from '../../src/cni/containerName.js';
import { DEFAULT_BRIDGE, renderDelegate } from '../../src/cni/delegateConfig.js';
import type { HostNetwork } from '../../src/cni/hostNetwork.js';
import { parseInvocation } from '../../src/cni/invocation.js';
import { DEFAULT_DATA_DIR, DEFAULT_RUN_DIR, parsePluginConfig } from '../../src/cni/pluginConfig.js';
import { parseCidr } from '../../src/net/ipv4.js';

const codeOf = (fn: () => unknown): number => {
  try {
    fn();
  } catch (error) {
    if (error instanceof CniError) return error.code;
    throw error;
  }
  throw new Error('did not throw');
};

const host = (bridge: string | null, dns: HostNetwork['daemon']['dns']): HostNetwork => ({
  env: { network: parseCidr('10.50.0.0/16'), subnet: parseCidr('10.50.7.0/24'), mtu: 1410, ipMasq: false },
  daemon: { pid: 1, api: '/run/tsoverlay/api.sock', bridge, dns },
});

describe('plugin config', () => {
  it('takes every supported version with defaults, and what existing conflists carry', () => {
    for (const cniVersion of ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0']) {
      expect(parsePluginConfig(JSON.stringify({ cniVersion, name: 'tsonet', type: 'tsoverlay', args: { x: 1 }, runtimeConfig: {} }))).toMatchObject({
        cniVersion, name: 'tsonet', runDir: DEFAULT_RUN_DIR, dataDir: DEFAULT_DATA_DIR, bridge: null, ipMasq: false, dnsNames: true, prevResult: null, validAttachments: null,
      });
    }
  });

  it('answers each kind of bad config with its code', () => {
    expect(codeOf(() => parsePluginConfig('{'))).toBe(6);
    expect(codeOf(() => parsePluginConfig('[1]'))).toBe(6);
    expect(codeOf(() => parsePluginConfig('{"name":"n"}'))).toBe(1);
    expect(codeOf(() => parsePluginConfig('{"cniVersion":"0.2.0","name":"n"}'))).toBe(1);
    expect(codeOf(() => parsePluginConfig('{"cniVersion":"1.0.0"}'))).toBe(7);
    expect(codeOf(() => parsePluginConfig('{"cniVersion":"1.0.0","name":"-x"}'))).toBe(7);
    expect(codeOf(() => parsePluginConfig('{"cniVersion":"1.0.0","name":"n","runDir":"relative"}'))).toBe(7);
    expect(codeOf(() => parsePluginConfig('{"cniVersion":"1.0.0","name":"n","bridge":"a-name-far-too-long"}'))).toBe(7);
    expect(codeOf(() => parsePluginConfig('{"cniVersion":"1.0.0","name":"n","ipMasq":"yes"}'))).toBe(7);
    expect(codeOf(() => parsePluginConfig('{"cniVersion":"1.0.0","name":"n","delegate":[]}'))).toBe(7);
    expect(codeOf(() => parsePluginConfig('{"cniVersion":"1.1.0","name":"n","cni.dev/valid-attachments":[{"containerID":1}]}'))).toBe(7);
  });

  it('reads GC\'s valid attachments', () => {
    const c = parsePluginConfig(JSON.stringify({ cniVersion: '1.1.0', name: 'n', 'cni.dev/valid-attachments': [{ containerID: 'abc', ifname: 'eth0' }] }));
    expect(c.validAttachments).toEqual([{ containerId: 'abc', ifname: 'eth0' }]);
  });
});

describe('CNI_* variables', () => {
  const env = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'abc123', CNI_IFNAME: 'eth0', CNI_NETNS: '/run/netns/x', CNI_PATH: '/opt/cni/bin:/usr/lib/cni', CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=web' };

  it('parses a container call', () => {
    const inv = parseInvocation(env);
    expect(inv).toMatchObject({ command: 'ADD', call: { containerId: 'abc123', ifname: 'eth0', netns: '/run/netns/x', path: ['/opt/cni/bin', '/usr/lib/cni'] } });
    if (inv.command === 'ADD') expect(inv.call.args.get('K8S_POD_NAME')).toBe('web');
  });

  it('lets DEL go without a namespace, and VERSION and STATUS without anything', () => {
    expect(parseInvocation({ ...env, CNI_COMMAND: 'DEL', CNI_NETNS: undefined })).toMatchObject({ call: { netns: '' } });
    expect(parseInvocation({ CNI_COMMAND: 'VERSION' })).toEqual({ command: 'VERSION' });
    expect(parseInvocation({ CNI_COMMAND: 'STATUS' })).toEqual({ command: 'STATUS' });
  });

  it('answers missing or bad variables with code 4', () => {
    expect(codeOf(() => parseInvocation({}))).toBe(4);
    expect(codeOf(() => parseInvocation({ CNI_COMMAND: 'PATCH' }))).toBe(4);
    for (const missing of ['CNI_CONTAINERID', 'CNI_IFNAME', 'CNI_NETNS', 'CNI_PATH']) expect(codeOf(() => parseInvocation({ ...env, [missing]: undefined }))).toBe(4);
    expect(codeOf(() => parseInvocation({ ...env, CNI_CONTAINERID: '../x' }))).toBe(4);
    expect(codeOf(() => parseInvocation({ ...env, CNI_IFNAME: 'a/b' }))).toBe(4);
    expect(codeOf(() => parseInvocation({ CNI_COMMAND: 'GC' }))).toBe(4);
  });
});

describe('container DNS names', () => {
  it('takes pod.namespace, a bare pod (podman\'s container name), or nothing', () => {
    expect(containerDnsName(new Map([['K8S_POD_NAME', 'web-0'], ['K8S_POD_NAMESPACE', 'prod']]))).toBe('web-0.prod');
    expect(containerDnsName(new Map([['K8S_POD_NAME', 'My_Container.1']]))).toBe('my-container-1');
    expect(containerDnsName(new Map([['K8S_POD_NAME', '___']]))).toBeNull();
    expect(containerDnsName(new Map())).toBeNull();
    expect(containerDnsName(new Map([['K8S_POD_NAME', 'x'.repeat(80)]]))).toHaveLength(63);
  });
});

describe('the rendered bridge config', () => {
  const config = (extra: object = {}) => parsePluginConfig(JSON.stringify({ cniVersion: '1.1.0', name: 'tsonet', ...extra }));

  it('is flannel\'s delegate: gateway bridge, host-local over the subnet, a route to the network, the MTU', () => {
    expect(renderDelegate(config(), host(null, null))).toEqual({
      cniVersion: '1.0.0', name: 'tsonet', type: 'bridge', bridge: DEFAULT_BRIDGE, isGateway: true, ipMasq: false, mtu: 1410,
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.50.7.0/24', rangeStart: '10.50.7.2', rangeEnd: '10.50.7.127', gateway: '10.50.7.1' }]], routes: [{ dst: '10.50.0.0/16', gw: '10.50.7.1' }] },
    });
  });

  it('shares the daemon\'s bridge and offers its DNS when it answers on port 53', () => {
    const d = renderDelegate(config({ cniVersion: '0.4.0' }), host('tsobr', { address: '10.50.7.1:53', domain: 'weave.local' }));
    expect(d).toMatchObject({ cniVersion: '0.4.0', bridge: 'tsobr', dns: { nameservers: ['10.50.7.1'], search: ['weave.local'] } });
    expect(renderDelegate(config(), host('tsobr', { address: '127.0.0.1:5353', domain: 'weave.local' })).dns).toBeUndefined();
  });

  it('lays "delegate" over it, and "delegate.ipam" over its ipam', () => {
    const d = renderDelegate(config({ bridge: 'cbr0', delegate: { hairpinMode: true, ipam: { dataDir: '/x' } } }), host('tsobr', null));
    expect(d).toMatchObject({ bridge: 'cbr0', hairpinMode: true, ipam: { type: 'host-local', dataDir: '/x', ranges: [[{ subnet: '10.50.7.0/24', gateway: '10.50.7.1' }]] } });
  });
});
