// The network configuration the runtime streams on stdin, parsed once into
// what this plugin uses. Fields it does not know are left alone (the spec
// lets runtimes add `args`, `runtimeConfig` and more).
import { CniCode, CniError } from './cniError.js';
import { CNI_NAME, INTERFACE_NAME } from './cniNames.js';
import { type CniVersion, isSupported, SUPPORTED_VERSIONS } from './cniVersions.js';

export const DEFAULT_RUN_DIR = '/run/tsoverlay';
export const DEFAULT_DATA_DIR = '/var/lib/cni/tsoverlay';

export interface Attachment {
  containerId: string;
  ifname: string;
}

export interface PluginConfig {
  cniVersion: CniVersion;
  name: string;
  /** The daemon's --run-dir: subnet.env and daemon.json. */
  runDir: string;
  /** Where each attachment's rendered delegate config and result are kept. */
  dataDir: string;
  /** The bridge for containers; default: the daemon's --bridge, else DEFAULT_BRIDGE. */
  bridge: string | null;
  /** Masquerade traffic that leaves the overlay network (off: the overlay routes it). */
  ipMasq: boolean;
  /** Give each container a name in the daemon's DNS domain. */
  dnsNames: boolean;
  /** Fields laid over the rendered bridge config (`ipam`'s are laid over its ipam). */
  delegate: Record<string, unknown>;
  /** The result of the ADD before, on DEL and CHECK. */
  prevResult: Record<string, unknown> | null;
  /** GC: the attachments the runtime still has; null when not given. */
  validAttachments: Attachment[] | null;
}

const invalid = (message: string) => new CniError(CniCode.invalidConfig, message);

export function parsePluginConfig(text: string): PluginConfig {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CniError(CniCode.decodeFailure, `network configuration on stdin is not JSON: ${(error as Error).message}`);
  }
  if (!isObject(value)) throw new CniError(CniCode.decodeFailure, 'network configuration on stdin is not a JSON object');
  const version = value.cniVersion;
  if (typeof version !== 'string' || !isSupported(version)) {
    throw new CniError(CniCode.incompatibleVersion, `cniVersion ${JSON.stringify(version ?? null)} is not supported (supported: ${SUPPORTED_VERSIONS.join(', ')})`);
  }
  const name = value.name;
  if (typeof name !== 'string' || !CNI_NAME.test(name)) throw invalid(`network name ${JSON.stringify(name ?? null)} is missing or not a valid CNI network name`);
  const delegate = value.delegate ?? {};
  if (!isObject(delegate)) throw invalid('"delegate" must be an object (fields for the bridge plugin)');
  const prevResult = value.prevResult ?? null;
  if (prevResult !== null && !isObject(prevResult)) throw invalid('"prevResult" must be an object');
  return {
    cniVersion: version,
    name,
    runDir: path(value, 'runDir') ?? DEFAULT_RUN_DIR,
    dataDir: path(value, 'dataDir') ?? DEFAULT_DATA_DIR,
    bridge: interfaceName(value, 'bridge'),
    ipMasq: bool(value, 'ipMasq', false),
    dnsNames: bool(value, 'dnsNames', true),
    delegate,
    prevResult,
    validAttachments: attachments(value['cni.dev/valid-attachments']),
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function path(o: Record<string, unknown>, key: string): string | null {
  const v = o[key];
  if (v === undefined) return null;
  if (typeof v !== 'string' || !v.startsWith('/')) throw invalid(`"${key}" must be an absolute path, not ${JSON.stringify(v)}`);
  return v;
}

function interfaceName(o: Record<string, unknown>, key: string): string | null {
  const v = o[key];
  if (v === undefined) return null;
  if (typeof v !== 'string' || !INTERFACE_NAME.test(v)) throw invalid(`"${key}" must be an interface name (1–15 characters), not ${JSON.stringify(v)}`);
  return v;
}

function bool(o: Record<string, unknown>, key: string, fallback: boolean): boolean {
  const v = o[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw invalid(`"${key}" must be true or false, not ${JSON.stringify(v)}`);
  return v;
}

function attachments(v: unknown): Attachment[] | null {
  if (v === undefined) return null;
  if (!Array.isArray(v)) throw invalid('"cni.dev/valid-attachments" must be a list');
  return v.map((a) => {
    if (!isObject(a) || typeof a.containerID !== 'string' || typeof a.ifname !== 'string') throw invalid('each of "cni.dev/valid-attachments" needs "containerID" and "ifname"');
    return { containerId: a.containerID, ifname: a.ifname };
  });
}
