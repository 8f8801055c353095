// What the plugin needs of this host's daemon, from its run dir: the subnet,
// the MTU and the network (subnet.env, as flannel's plugin reads it), and
// that the daemon runs, with its API, bridge and DNS (daemon.json).
import { type DaemonInfo, processAlive, readDaemonInfo } from '../state/daemonInfo.js';
import { type SubnetEnv, readSubnetEnv } from '../subnet/subnetEnv.js';
import { CniCode, CniError } from './cniError.js';

export interface HostNetwork {
  env: SubnetEnv;
  daemon: DaemonInfo;
}

/** The running daemon's network, or CNI error 50 saying why there is none. */
export async function readHostNetwork(runDir: string): Promise<HostNetwork> {
  const daemon = readDaemonInfo(runDir);
  if (!daemon) {
    throw new CniError(CniCode.notAvailable, `no tsoverlay daemon is running with run dir ${runDir} (no daemon.json there): start it with 'tsoverlay launch', or set "runDir" to its --run-dir`);
  }
  if (!processAlive(daemon.pid)) throw new CniError(CniCode.notAvailable, `the tsoverlay daemon of ${runDir} (pid ${daemon.pid}) is not running: restart it`);
  const env = await readSubnetEnv(runDir);
  if (!env) throw new CniError(CniCode.notAvailable, `the tsoverlay daemon of ${runDir} has no subnet yet (no readable subnet.env)`);
  return { env, daemon };
}
