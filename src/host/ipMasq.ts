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
// Dual stack, the same four rules for IPv6 in an `ip6` table of the same
// name (multicast is ff00::/8), installed in the same transaction.
//
// A table someone flushed or deleted (`nft flush ruleset`, a firewall
// reload) is put back by keep(), checked every KEEP_MS.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { type Cidr, formatCidr } from '../net/ipv4.js';
import { formatCidr6, type Stack6 } from '../net/ipv6Cidr.js';
import { HostSetupError } from './ipCommand.js';

const run = promisify(execFile);
const TABLE = 'tsoverlay';
const KEEP_MS = 5000;

/** The nft script that (re)creates the table (dual stack: both tables): an existing one goes in the same transaction. */
export function masqRuleset(network: Cidr, subnet: Cidr, v6: Stack6 | null = null): string {
  const table = (family: 'ip' | 'ip6', net: string, own: string, multicast: string) => [
    `table ${family} ${TABLE}`,
    `delete table ${family} ${TABLE}`,
    `table ${family} ${TABLE} {`,
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    `    ${family} saddr ${net} ${family} daddr ${net} return`,
    `    ${family} saddr ${net} ${family} daddr != ${multicast} masquerade fully-random`,
    `    ${family} saddr != ${net} ${family} daddr ${own} return`,
    `    ${family} saddr != ${net} ${family} daddr ${net} masquerade fully-random`,
    '  }',
    '}',
  ];
  return [
    ...table('ip', formatCidr(network), formatCidr(subnet), '224.0.0.0/4'),
    ...(v6 ? table('ip6', formatCidr6(v6.network), formatCidr6(v6.subnet), 'ff00::/8') : []),
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
    private readonly v6: Stack6 | null = null,
  ) {}

  async install(): Promise<void> {
    try {
      await nft(['-f', '-'], masqRuleset(this.network, this.subnet, this.v6));
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
    return { table: this.v6 ? `ip ${TABLE}, ip6 ${TABLE}` : `ip ${TABLE}`, restored: this.restored };
  }

  async remove(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await nft(['delete', 'table', 'ip', TABLE]).catch(() => {});
    if (this.v6) await nft(['delete', 'table', 'ip6', TABLE]).catch(() => {});
  }

  private async check(): Promise<void> {
    const listed = (await nft(['list', 'table', 'ip', TABLE]).catch(() => '')) + (this.v6 ? await nft(['list', 'table', 'ip6', TABLE]).catch(() => '') : '');
    // Four rules per table, each naming the network: anything less is a table someone changed.
    if ((listed.match(/\b(return|masquerade)\b/g) ?? []).length === (this.v6 ? 8 : 4)) return;
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
