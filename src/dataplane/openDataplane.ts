// A Dataplane over the real devices: the TUN and the UDP socket, opened
// through the addon. Failing either leaves nothing open.
import { Dataplane, type DataplaneOptions } from './dataplane.js';
import { TunDevice } from './tunDevice.js';
import { UdpEndpoint } from './udpEndpoint.js';

export interface DeviceOptions {
  tunName: string;
  listenAddress: string;
  port: number;
  /** TUN TSO/checksum offload with virtio-net headers, UDP GSO and GRO. */
  offload: boolean;
}

export function openDataplane(options: DataplaneOptions & DeviceOptions): Dataplane {
  const tun = new TunDevice(options.tunName, options.offload);
  let udp: UdpEndpoint;
  try {
    udp = new UdpEndpoint(options.listenAddress, options.port, options.offload);
  } catch (error) {
    tun.close();
    throw error;
  }
  return new Dataplane(options, tun, udp);
}
