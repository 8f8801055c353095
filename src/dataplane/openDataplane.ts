// A Dataplane over the real devices: the TUN and the UDP socket, opened
// through the addon. Failing either leaves nothing open.
import { existsSync } from 'node:fs';
import { Dataplane, type DataplaneOptions } from './dataplane.js';
import { TunDevice } from './tunDevice.js';
import { UdpEndpoint } from './udpEndpoint.js';

export interface DeviceOptions {
  tunName: string;
  listenAddress: string;
  port: number;
  /** TUN TSO/checksum offload with virtio-net headers, UDP GSO and GRO. */
  offload: boolean;
  /** A predecessor's TUN and UDP descriptors (a takeover), opened with these options. */
  handed?: { tun: number; udp: number };
}

/** The data path, and whether its TUN is one an earlier run left (after a crash) rather than new. */
export function openDataplane(options: DataplaneOptions & DeviceOptions): { dataplane: Dataplane; tunAdopted: boolean } {
  const tunAdopted = options.handed !== undefined || existsSync(`/sys/class/net/${options.tunName}`);
  const tun = new TunDevice(options.tunName, options.offload, true, options.handed?.tun ?? null);
  let udp: UdpEndpoint;
  try {
    udp = new UdpEndpoint(options.listenAddress, options.port, options.offload, options.handed?.udp ?? null);
  } catch (error) {
    tun.close();
    throw error;
  }
  return { dataplane: new Dataplane(options, tun, udp), tunAdopted };
}
