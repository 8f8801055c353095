// The encapsulations tsoverlay speaks on the underlay. Adding one touches only this map.
import type { EncapCodec } from './codecs/codec.js';
import { UDP_DEFAULT_PORT, udpCodec } from './codecs/udpCodec.js';
import { VXLAN_DEFAULT_PORT, VxlanCodec } from './codecs/vxlanCodec.js';
import type { Encapsulation } from './dataplane.js';
import { SLEEVE_DEFAULT_PORT, sleeveOverhead } from './sleeve/sleeveFormat.js';

export interface BackendParams {
  vni: number;
  vtepMac: Buffer;
  /** Underlay MTU: sleeve datagrams are filled up to it. */
  underlayMtu: number;
  /** A password is set: only sleeve can honour it. */
  sealed: boolean;
  rekeyAfter?: number;
}

export interface Backend {
  readonly name: string;
  readonly defaultPort: number;
  readonly usesVtepMac: boolean;
  /** Whether the format can carry sealed (encrypted) datagrams. */
  readonly encrypts: boolean;
  /** Outer IPv4 + UDP headers plus the backend's own, for one inner packet. */
  overhead(sealed: boolean): number;
  encapsulation(params: BackendParams): Encapsulation;
}

const IPV4_UDP = 20 + 8;

function codecBackend(name: string, defaultPort: number, ownHeader: number, usesVtepMac: boolean, codec: (p: BackendParams) => EncapCodec): Backend {
  return { name, defaultPort, usesVtepMac, encrypts: false, overhead: () => IPV4_UDP + ownHeader, encapsulation: (p) => ({ kind: 'codec', codec: codec(p) }) };
}

export const backends: Record<string, Backend> = {
  udp: codecBackend('udp', UDP_DEFAULT_PORT, 0, false, () => udpCodec),
  vxlan: codecBackend('vxlan', VXLAN_DEFAULT_PORT, 8 + 14, true, (p) => new VxlanCodec(p.vni, p.vtepMac)),
  sleeve: {
    name: 'sleeve',
    defaultPort: SLEEVE_DEFAULT_PORT,
    usesVtepMac: false,
    encrypts: true,
    overhead: (sealed) => IPV4_UDP + sleeveOverhead(sealed),
    encapsulation: (p) => ({ kind: 'sleeve', sealed: p.sealed, datagramMax: p.underlayMtu - IPV4_UDP, rekeyAfter: p.rekeyAfter }),
  },
};

export const backendNames = Object.keys(backends);
