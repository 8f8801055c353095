// `address:port` texts of either family, the way peers, listen addresses and
// UDP endpoints are written: `10.0.0.1:6783`, and for IPv6 `[fd99::1]:6783`
// (RFC 3986's brackets; a bare IPv6 address takes the default port).
import { AddressError, isIPv4, parseIPv4 } from './ipv4.js';
import { canonicalIPv6, isIPv6 } from './ipv6.js';

/** `IP[:PORT]`, `[IPv6][:PORT]` or a bare IPv6 address; the port defaults to `defaultPort`. IPv6 comes back canonical. */
export function parseHostPort(text: string, defaultPort: number): { address: string; port: number } {
  const v4 = /^(\d+\.\d+\.\d+\.\d+)(?::(\d+))?$/.exec(text);
  const v6 = v4 ? null : /^\[([^\]]+)\](?::(\d+))?$/.exec(text) ?? (isIPv6(text) ? [text, text, undefined] : null);
  const match = v4 ?? v6;
  if (!match) throw new AddressError(`${JSON.stringify(text)}: want IP[:PORT] (IPv6: [IP]:PORT)`);
  try {
    if (v4) parseIPv4(match[1]);
    else if (!isIPv6(match[1])) throw new AddressError(`not an IPv6 address: ${JSON.stringify(match[1])}`);
  } catch (error) {
    throw new AddressError(`${text}: ${(error as Error).message}`);
  }
  if (match[2] !== undefined && !/^\d{1,5}$/.test(match[2])) throw new AddressError(`${text}: bad port`);
  const port = match[2] === undefined ? defaultPort : Number(match[2]);
  if (port < 1 || port > 65535) throw new AddressError(`${text}: port out of range`);
  return { address: v4 ? match[1] : canonicalIPv6(match[1]), port };
}

export function formatHostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** Whether `text` is an endpoint as formatHostPort writes it, the port given (1-65535). */
export function isEndpoint(text: unknown): text is string {
  if (typeof text !== 'string' || text.length > 64) return false;
  const at = text.lastIndexOf(':');
  if (at <= 0) return false;
  const host = text.slice(0, at);
  const port = text.slice(at + 1);
  const address = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const familyOk = host === address ? isIPv4(address) : isIPv6(address);
  return familyOk && /^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535;
}

/** The address part of an endpoint isEndpoint passed. */
export function endpointAddress(text: string): string {
  const host = text.slice(0, text.lastIndexOf(':'));
  return host.startsWith('[') ? host.slice(1, -1) : host;
}
