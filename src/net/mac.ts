// Ethernet MAC addresses: parsing, formatting, and a random locally administered one.
import { UserError } from '../errors.js';
import { randomBytes } from 'node:crypto';

export class MacError extends UserError {}

/** Whether `text` is a MAC address parseMac takes (for what a peer sent). */
export function isMac(text: unknown): text is string {
  return typeof text === 'string' && /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(text);
}

export function parseMac(text: string): Buffer {
  const parts = text.split(':');
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{2}$/.test(p))) {
    throw new MacError(`not a MAC address: ${JSON.stringify(text)}`);
  }
  return Buffer.from(parts.map((p) => parseInt(p, 16)));
}

export function formatMac(mac: Uint8Array): string {
  return Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join(':');
}

/** A unicast, locally administered address, as the kernel picks for a new vxlan device. */
export function randomMac(): Buffer {
  const mac = randomBytes(6);
  mac[0] = (mac[0] & 0xfe) | 0x02;
  return mac;
}
