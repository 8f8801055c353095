// libnetwork's remote plugin protocol: each call is `POST /<Interface>.<Method>`
// with a JSON body; an answer is JSON, a failure `{"Err": "..."}`. The
// requests' fields are read here once, so the drivers get typed values.
// Hand-written: the protocol is a dozen small JSON shapes, and npm has no
// kept server for it (weave's and others' are Go: go-plugins-helpers).
import { UserError } from '../errors.js';
import { type Cidr, cidrContains, formatCidr, formatIPv4, parseIPv4 } from '../net/ipv4.js';
import { canonicalIPv6, isIPv6, parseIPv6 } from '../net/ipv6.js';
import { type Cidr6, cidr6ContainsWords, formatCidr6, wordsOf } from '../net/ipv6Cidr.js';

/** A request the plugin refuses: answered `{"Err": message}`. */
export class PluginError extends UserError {}

export const PLUGIN_CONTENT_TYPE = 'application/vnd.docker.plugins.v1.2+json';
/** Docker's option key for the kind of address asked for, and its value for a gateway. */
export const REQUEST_ADDRESS_TYPE = 'RequestAddressType';
export const GATEWAY_TYPE = 'com.docker.network.gateway';
/** Docker passes the endpoint's MAC under this key when the IPAM driver asks for it. */
export const MAC_OPTION = 'com.docker.network.endpoint.macaddress';

export type Body = Record<string, unknown>;

export interface RequestPool {
  addressSpace: string;
  /** '' when docker network create had no --subnet. */
  pool: string;
  subPool: string;
  v6: boolean;
}

export interface RequestAddress {
  poolId: string;
  /** '' for any free address. */
  address: string;
  gateway: boolean;
  mac: string;
}

export interface CreateNetwork {
  networkId: string;
  /** The pools Docker got for the network (RequestPool's answers), with the gateways. */
  ipv4: { pool: string; gateway: string }[];
  ipv6: { pool: string; gateway: string }[];
}

export interface CreateEndpoint {
  networkId: string;
  endpointId: string;
  /** ip/len from the IPAM driver; '' when Docker has none. */
  address: string;
  /** The IPv6 ip/len, on a dual-stack network; '' otherwise. */
  address6: string;
  mac: string;
}

export interface EndpointRef {
  networkId: string;
  endpointId: string;
}

export function readRequestPool(b: Body): RequestPool {
  return { addressSpace: str(b, 'AddressSpace'), pool: str(b, 'Pool'), subPool: str(b, 'SubPool'), v6: b.V6 === true };
}

export function readRequestAddress(b: Body): RequestAddress {
  const options = obj(b, 'Options');
  return {
    poolId: required(b, 'PoolID'),
    address: str(b, 'Address'),
    gateway: options[REQUEST_ADDRESS_TYPE] === GATEWAY_TYPE,
    mac: typeof options[MAC_OPTION] === 'string' ? (options[MAC_OPTION] as string).toLowerCase() : '',
  };
}

export function readCreateNetwork(b: Body): CreateNetwork {
  const list = (field: string): Body[] => {
    const v = b[field];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || !v.every((e) => typeof e === 'object' && e !== null)) throw new PluginError(`${field} must be a list of objects`);
    return v as Body[];
  };
  return {
    networkId: required(b, 'NetworkID'),
    ipv4: list('IPv4Data').map((d) => ({ pool: str(d, 'Pool'), gateway: str(d, 'Gateway') })),
    ipv6: list('IPv6Data').map((d) => ({ pool: str(d, 'Pool'), gateway: str(d, 'Gateway') })),
  };
}

export function readCreateEndpoint(b: Body): CreateEndpoint {
  const iface = obj(b, 'Interface');
  return { ...readEndpointRef(b), address: str(iface, 'Address'), address6: str(iface, 'AddressIPv6'), mac: str(iface, 'MacAddress').toLowerCase() };
}

export function readEndpointRef(b: Body): EndpointRef {
  return { networkId: required(b, 'NetworkID'), endpointId: required(b, 'EndpointID') };
}

export function required(b: Body, field: string): string {
  const v = str(b, field);
  if (v === '') throw new PluginError(`${field} is missing`);
  return v;
}

function str(b: Body, field: string): string {
  const v = b[field];
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new PluginError(`${field} must be a string`);
  return v;
}

function obj(b: Body, field: string): Body {
  const v = b[field];
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new PluginError(`${field} must be an object`);
  return v as Body;
}

/** ip or ip/len (the subnet's own len), inside `subnet`: the bare ip; else a PluginError naming the problem. */
export function addressInSubnet(subnet: Cidr, text: string): string {
  const [ipText, lenText] = text.split('/');
  let value: number;
  try {
    value = parseIPv4(ipText);
  } catch (error) {
    throw new PluginError(`${JSON.stringify(text)}: ${(error as Error).message}`);
  }
  if (lenText !== undefined && lenText !== String(subnet.len)) throw new PluginError(`${text}: the prefix length of this host's subnet is /${subnet.len}`);
  if (!cidrContains(subnet, value)) throw new PluginError(`${ipText} is outside this host's subnet ${formatCidr(subnet)}`);
  return formatIPv4(value);
}

/** ip or ip/len (the subnet's own len), inside the IPv6 `subnet`: the bare ip in canonical form; else a PluginError naming the problem. */
export function addressInSubnet6(subnet: Cidr6, text: string): string {
  const [ipText, lenText] = text.split('/');
  if (!isIPv6(ipText)) throw new PluginError(`${JSON.stringify(text)}: not an IPv6 address`);
  if (lenText !== undefined && lenText !== String(subnet.len)) throw new PluginError(`${text}: the prefix length of this host's IPv6 subnet is /${subnet.len}`);
  if (!cidr6ContainsWords(subnet, wordsOf(parseIPv6(ipText)))) throw new PluginError(`${ipText} is outside this host's IPv6 subnet ${formatCidr6(subnet)}`);
  return canonicalIPv6(ipText);
}
