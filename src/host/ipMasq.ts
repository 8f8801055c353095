// flannel's --ip-masq: traffic from the overlay to the world outside it
// leaves with the host's address, traffic between overlay addresses keeps
// its own. The rules are flannel's (FLANNEL-POSTRTG), in an nftables table
// of tsoverlay's own, so installing is one atomic transaction, removing is
// deleting the table, and nobody else's rules are touched:
//
//   network → network            return      (containers see each other)
//   network → ! 224.0.0.0/4      masquerade  (out to the world)
//   ! network → this subnet      return      (in from outside, to ours)
//   ! network → network          masquerade  (the host to other hosts' containers)
//
// A table someone flushed or deleted (`nft flush ruleset`, a firewall
// reload) is put back by keep(), checked every KEEP_MS.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { type Cidr, formatCidr } from '../net/ipv4.js';
import { HostSetupError } from './ipCommand.js';

const run = promisify(execFile);
const TABLE = 'tsoverlay';
const KEEP_MS = 5000;

/** The nft script that (re)creates the table: an existing one goes in the same transaction. */
export function masqRuleset(network: Cidr, subnet: Cidr): string {
  const net = formatCidr(network);
  return [
    `table ip ${TABLE}`,
    `delete table ip ${TABLE}`,
    `table ip ${TABLE} {`,
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    `    ip saddr ${net} ip daddr ${net} return`,
    `    ip saddr ${net} ip daddr != 224.0.0.0/4 masquerade fully-random`,
    `    ip saddr != ${net} ip daddr ${formatCidr(subnet)} return`,
    `    ip saddr != ${net} ip daddr ${net} masquerade fully-random`,
    '  }',
    '}',
    '',
  ].join('\n');
}

export class IpMasq {
  private timer: NodeJS.Timeout | null = null;
  /** Times the table was found missing or changed and put back. */
  restored = 0;

  constructor(
    private readonly network: Cidr,
    private readonly subnet: Cidr,
    private readonly log: (message: string, fields?: Record<string, unknown>) => void,
  ) {}

  async install(): Promise<void> {
    try {
      await nft(['-f', '-'], masqRuleset(this.network, this.subnet));
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'nft is not installed' : ((error as { stderr?: string }).stderr || (error as Error).message).trim();
      throw new HostSetupError(`cannot install the --ip-masq rules (${reason}); install nftables, or launch with --no-ip-masq`);
    }
  }

  /** Puts the rules back whenever they are gone, until remove(). */
  keep(): void {
    this.timer = setInterval(() => {
      void this.check().catch((error: Error) => this.log('cannot check the masquerade rules', { error: error.message }));
    }, KEEP_MS);
    this.timer.unref();
  }

  status(): { table: string; restored: number } {
    return { table: `ip ${TABLE}`, restored: this.restored };
  }

  async remove(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await nft(['delete', 'table', 'ip', TABLE]).catch(() => {});
  }

  private async check(): Promise<void> {
    const listed = await nft(['list', 'table', 'ip', TABLE]).catch(() => '');
    // Four rules, each naming the network: anything less is a table someone changed.
    if ((listed.match(/\b(return|masquerade)\b/g) ?? []).length === 4) return;
    await this.install();
    this.restored++;
    this.log('masquerade rules were gone: put back', { table: TABLE });
  }
}

async function nft(args: string[], input?: string): Promise<string> {
  const child = run('nft', args, { timeout: 10_000 });
  if (input !== undefined) child.child.stdin!.end(input);
  return (await child).stdout;
}
