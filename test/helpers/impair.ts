// A lossy, reordering underlay without netem (this kernel is built without
// CONFIG_NET_SCH_NETEM): iptables' statistic match drops a share of the
// datagrams both ways, and sends another share through a slow HTB class,
// where they queue behind one another and arrive after later ones.
import type { Lab, LabHost } from '../../src/lab/lab.js';

export interface Impairment {
  /** Datagrams dropped, and datagrams held back in the slow class. */
  counts(): Promise<{ dropped: number; delayed: number }>;
  remove(): Promise<void>;
}

export async function impairUnderlay(lab: Lab, host: LabHost, port: number, o: { lossPercent: number; reorderPercent: number }): Promise<Impairment> {
  const x = (cmd: string, args: string[]) => lab.exec(host.ns, cmd, args);
  const loss = ['-m', 'statistic', '--mode', 'random', '--probability', String(o.lossPercent / 100)];
  const lossRules = [
    ['OUTPUT', '-o', 'eth0', '-p', 'udp', '--dport', String(port), ...loss, '-j', 'DROP'],
    ['INPUT', '-i', 'eth0', '-p', 'udp', '--sport', String(port), ...loss, '-j', 'DROP'],
  ];
  const slowRule = ['POSTROUTING', '-o', 'eth0', '-p', 'udp', '--dport', String(port), '-m', 'statistic', '--mode', 'random', '--probability', String(o.reorderPercent / 100), '-j', 'CLASSIFY', '--set-class', '1:20'];
  await x('tc', ['qdisc', 'add', 'dev', 'eth0', 'root', 'handle', '1:', 'htb', 'default', '10']);
  await x('tc', ['class', 'add', 'dev', 'eth0', 'parent', '1:', 'classid', '1:10', 'htb', 'rate', '10gbit']);
  await x('tc', ['class', 'add', 'dev', 'eth0', 'parent', '1:', 'classid', '1:20', 'htb', 'rate', '40mbit', 'ceil', '40mbit']);
  for (const rule of lossRules) await x('iptables', ['-A', ...rule]);
  await x('iptables', ['-t', 'mangle', '-A', ...slowRule]);
  return {
    async counts() {
      const rules = await x('iptables', ['-L', '-v', '-x', '-n']);
      const dropped = [...rules.matchAll(/^\s*(\d+)\s+\d+\s+DROP\s+.*statistic/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
      const classes = await x('tc', ['-s', 'class', 'show', 'dev', 'eth0']);
      const slow = /class htb 1:20[\s\S]*?Sent \d+ bytes (\d+) pkt/.exec(classes);
      return { dropped, delayed: slow ? Number(slow[1]) : 0 };
    },
    async remove() {
      for (const rule of lossRules) await x('iptables', ['-D', ...rule]).catch(() => '');
      await x('iptables', ['-t', 'mangle', '-D', ...slowRule]).catch(() => '');
      await x('tc', ['qdisc', 'del', 'dev', 'eth0', 'root']).catch(() => '');
    },
  };
}
