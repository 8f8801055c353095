// The encapsulations tsoverlay speaks on the underlay. Adding one touches only this map.
import type { EncapCodec } from './codecs/codec.js';
import { UDP_DEFAULT_PORT, udpCodec } from './codecs/udpCodec.js';
import { VXLAN_DEFAULT_PORT, VxlanCodec } from './codecs/vxlanCodec.js';

export interface BackendParams {
  vni: number;
  vtepMac: Buffer;
}

export interface Backend {
  readonly name: string;
  readonly defaultPort: number;
  /** Outer IPv4 + UDP headers plus the codec's own. */
  readonly overhead: number;
  readonly usesVtepMac: boolean;
  codec(params: BackendParams): EncapCodec;
}

const IPV4_UDP = 20 + 8;

export const backends: Record<string, Backend> = {
  udp: { name: 'udp', defaultPort: UDP_DEFAULT_PORT, overhead: IPV4_UDP, usesVtepMac: false, codec: () => udpCodec },
  vxlan: {
    name: 'vxlan',
    defaultPort: VXLAN_DEFAULT_PORT,
    overhead: IPV4_UDP + 8 + 14,
    usesVtepMac: true,
    codec: (p) => new VxlanCodec(p.vni, p.vtepMac),
  },
};

export const backendNames = Object.keys(backends);
