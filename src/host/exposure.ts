// `tsoverlay expose` / `hide`: addresses of this host's block given to the
// host itself (on the TUN), so that containers anywhere can reach the host by
// an overlay address, and the host can use it as its source towards them.
import { UserError } from '../errors.js';
import { type Cidr, cidrContains, cidrHost, formatIPv4, parseIPv4 } from '../net/ipv4.js';
import { ip } from './ipCommand.js';

export class ExposeError extends UserError {}

export class Exposure {
  readonly addresses = new Set<string>();

  constructor(
    private readonly tun: string,
    private readonly subnet: Cidr,
    private readonly reserved: Set<string>,
  ) {}

  /** The TUN's own address (subnet .0) is always there; any other one of ours is added as a /32. */
  async expose(address: string | null): Promise<string> {
    const chosen = address ?? formatIPv4(cidrHost(this.subnet, 0));
    let value: number;
    try {
      value = parseIPv4(chosen);
    } catch (error) {
      throw new ExposeError((error as Error).message);
    }
    if (!cidrContains(this.subnet, value)) throw new ExposeError(`${chosen} is not in this host's block`);
    if (this.reserved.has(chosen) && chosen !== formatIPv4(cidrHost(this.subnet, 0))) throw new ExposeError(`${chosen} is the bridge's address`);
    if (chosen !== formatIPv4(cidrHost(this.subnet, 0))) await ip('addr', 'replace', `${chosen}/32`, 'dev', this.tun);
    this.addresses.add(chosen);
    return chosen;
  }

  async hide(address: string): Promise<boolean> {
    if (!this.addresses.delete(address)) return false;
    if (address !== formatIPv4(cidrHost(this.subnet, 0))) await ip('addr', 'del', `${address}/32`, 'dev', this.tun).catch(() => '');
    return true;
  }
}
