// The veth pairs of the Docker plugin's endpoints: one end on the bridge,
// the other handed to Docker, which moves it into the container.
import { ip } from './ipCommand.js';

export interface EndpointLinks {
  /** Creates the pair (replacing a leftover of the same name) and puts `hostEnd` on `bridge`. */
  create(hostEnd: string, containerEnd: string, bridge: string, mtu: number): Promise<void>;
  /** Removes the pair (both ends go with either); one already gone is no error. */
  remove(hostEnd: string): Promise<void>;
}

export const vethLinks: EndpointLinks = {
  async create(hostEnd, containerEnd, bridge, mtu) {
    await ip('link', 'del', 'dev', hostEnd).catch(() => {});
    await ip('link', 'add', 'name', hostEnd, 'mtu', String(mtu), 'type', 'veth', 'peer', 'name', containerEnd, 'mtu', String(mtu));
    try {
      await ip('link', 'set', 'dev', hostEnd, 'master', bridge, 'up');
    } catch (error) {
      await ip('link', 'del', 'dev', hostEnd).catch(() => {});
      throw error;
    }
  },
  async remove(hostEnd) {
    await ip('link', 'del', 'dev', hostEnd).catch(() => {});
  },
};
