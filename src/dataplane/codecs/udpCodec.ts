// flannel's `udp` backend format: the UDP payload is the bare IP packet.
import type { EncapCodec } from './codec.js';

export const UDP_DEFAULT_PORT = 8285;

export const udpCodec: EncapCodec = {
  name: 'udp',
  overhead: 0,
  kernelPeers: false,
  encap() {},
  decap(_buf, start) {
    return start;
  },
};
