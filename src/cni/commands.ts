// The six CNI commands. Each returns what goes to stdout (or '' for none)
// and throws a CniError for the error JSON. Whatever an ADD made before it
// fails is undone before it answers: no veth, address or name is left.
import { processAlive, readDaemonInfo } from '../state/daemonInfo.js';
import { addStaleNames } from '../state/staleNames.js';
import { formatCidr } from '../net/ipv4.js';
import { AttachmentStore, type StoredAttachment } from './attachmentStore.js';
import { CniCode, CniError } from './cniError.js';
import { hasCheck, LATEST, SUPPORTED_VERSIONS } from './cniVersions.js';
import { containerDnsName } from './containerName.js';
import { addNames, lookupName, removeNames } from './daemonNames.js';
import { type DelegateConfig, renderDelegate } from './delegateConfig.js';
import { type DelegateCall, runDelegate } from './delegatePlugin.js';
import { readHostNetwork } from './hostNetwork.js';
import type { ContainerCall } from './invocation.js';
import type { PluginConfig } from './pluginConfig.js';

export function version(): string {
  return JSON.stringify({ cniVersion: LATEST, supportedVersions: SUPPORTED_VERSIONS });
}

export async function add(config: PluginConfig, call: ContainerCall): Promise<string> {
  const host = await readHostNetwork(config.runDir);
  const store = new AttachmentStore(config.dataDir, config.name);
  if (store.get(call.containerId, call.ifname)) {
    throw new CniError(CniCode.invalidEnvironment, `container ${call.containerId} already has ${call.ifname} on network ${config.name} (an earlier ADD): DEL it first`);
  }
  const delegate = renderDelegate(config, host);
  const dnsName = config.dnsNames && host.daemon.dns ? containerDnsName(call.args) : null;
  const record: StoredAttachment = { containerId: call.containerId, ifname: call.ifname, delegate, result: null, dnsName, addresses: [] };
  store.put(record);
  let addresses: string[] = [];
  try {
    const result = runDelegate(delegate, delegateCall('ADD', call))!;
    addresses = ipv4Addresses(result);
    if (dnsName) await addNames(host.daemon.api, dnsName, addresses);
    store.put({ ...record, result, addresses });
    return JSON.stringify({ ...result, cniVersion: config.cniVersion });
  } catch (error) {
    if (dnsName && addresses.length) await removeNames(host.daemon.api, dnsName, addresses).catch(() => {});
    try {
      runDelegate(delegate, delegateCall('DEL', call));
    } catch {
      // the ADD's own error is the one to report
    }
    store.remove(call.containerId, call.ifname);
    throw error;
  }
}

export async function del(config: PluginConfig, call: ContainerCall): Promise<string> {
  const store = new AttachmentStore(config.dataDir, config.name);
  const stored = store.get(call.containerId, call.ifname);
  // Without a record (a data dir wiped, say) the daemon's current network
  // still tells host-local which addresses to release; without either, there
  // is nothing left that this plugin made.
  const delegate = stored?.delegate ?? (await currentDelegate(config));
  if (delegate) runDelegate(delegate, delegateCall('DEL', call));
  if (stored) {
    await forgetName(config, stored);
    store.remove(call.containerId, call.ifname);
  }
  return '';
}

export async function check(config: PluginConfig, call: ContainerCall): Promise<string> {
  if (!hasCheck(config.cniVersion)) throw new CniError(CniCode.incompatibleVersion, `CHECK needs cniVersion 0.4.0 or later, not ${config.cniVersion}`);
  const stored = new AttachmentStore(config.dataDir, config.name).get(call.containerId, call.ifname);
  if (!stored?.result) throw new CniError(CniCode.unknownContainer, `container ${call.containerId} has no ${call.ifname} on network ${config.name}`);
  const host = await readHostNetwork(config.runDir);
  const subnet = formatCidr(host.env.subnet);
  if (delegateSubnet(stored.delegate) !== subnet) {
    throw new CniError(CniCode.limitedConnectivity, `this host's subnet is now ${subnet}, the container's address is from ${delegateSubnet(stored.delegate)}: recreate the container`);
  }
  // The result the delegate checks, in the version it is called with.
  runDelegate(stored.delegate, delegateCall('CHECK', call), { ...(config.prevResult ?? stored.result), cniVersion: stored.delegate.cniVersion });
  if (stored.dnsName && host.daemon.dns) {
    const ips = await lookupName(host.daemon.api, stored.dnsName);
    const missing = stored.addresses.filter((ip) => !ips.includes(ip));
    if (missing.length) throw new CniError(CniCode.limitedConnectivity, `${stored.dnsName} no longer names ${missing.join(', ')} in the daemon's DNS`);
  }
  return '';
}

export async function status(config: PluginConfig): Promise<string> {
  await readHostNetwork(config.runDir);
  return '';
}

/** Deletes every attachment of this network that the runtime no longer lists. */
export async function gc(config: PluginConfig, path: string[]): Promise<string> {
  if (!config.validAttachments) throw new CniError(CniCode.invalidConfig, 'GC needs "cni.dev/valid-attachments" in the configuration');
  const valid = new Set(config.validAttachments.map((a) => `${a.containerId}\0${a.ifname}`));
  const store = new AttachmentStore(config.dataDir, config.name);
  let firstError: unknown = null;
  for (const stale of store.all().filter((a) => !valid.has(`${a.containerId}\0${a.ifname}`))) {
    try {
      runDelegate(stale.delegate, { command: 'DEL', containerId: stale.containerId, ifname: stale.ifname, netns: '', args: '', path });
      await forgetName(config, stale);
      store.remove(stale.containerId, stale.ifname);
    } catch (error) {
      firstError ??= error;
    }
  }
  if (firstError) throw firstError;
  return '';
}

function delegateCall(command: DelegateCall['command'], call: ContainerCall): DelegateCall {
  // The names meant for this plugin (K8S_POD_NAME, ...) must not fail the delegate.
  const args = [...new Map([['IgnoreUnknown', '1'], ...call.args])].map(([k, v]) => `${k}=${v}`).join(';');
  return { command, containerId: call.containerId, ifname: call.ifname, netns: call.netns, args, path: call.path };
}

async function currentDelegate(config: PluginConfig): Promise<DelegateConfig | null> {
  try {
    return renderDelegate(config, await readHostNetwork(config.runDir));
  } catch {
    return null;
  }
}

/** Removes an attachment's DNS name; with no daemon to take it, leaves it for the daemon's next start. */
async function forgetName(config: PluginConfig, stored: StoredAttachment): Promise<void> {
  const name = stored.dnsName;
  if (!name || !stored.addresses.length) return;
  const daemon = readDaemonInfo(config.runDir);
  const removed = daemon && processAlive(daemon.pid) && (await removeNames(daemon.api, name, stored.addresses).then(() => true, () => false));
  if (!removed) addStaleNames(config.runDir, stored.addresses.map((ip) => ({ ip, name })));
}

function ipv4Addresses(result: Record<string, unknown>): string[] {
  const ips = Array.isArray(result.ips) ? (result.ips as { address?: unknown }[]) : [];
  return ips.map((ip) => (typeof ip.address === 'string' ? ip.address.split('/')[0] : '')).filter((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a));
}

function delegateSubnet(delegate: DelegateConfig): string | undefined {
  const ranges = (delegate.ipam as { ranges?: { subnet?: string }[][] } | undefined)?.ranges;
  return ranges?.[0]?.[0]?.subnet;
}
