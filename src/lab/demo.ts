// `tsoverlay demo [--hosts N] [--keep]`: N hosts (default 3) in network
// namespaces, wired as a line so that the ends can only talk through the
// middle; tsoverlay in mesh mode on each, a container behind each, DNS names
// registered; a ping by name from the first host's container to the last
// one's, across the relay; status printed; everything removed (unless --keep).
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, type LabHost } from './lab.js';
import { TSOVERLAY_BIN } from './labDaemon.js';
import { onlyLinks, startMesh } from './meshHosts.js';

export async function runDemo(count = 3, keep = false): Promise<number> {
  const say = (line: string) => process.stdout.write(line + '\n');
  if (!Number.isInteger(count) || count < 2 || count > 10) throw new Error('--hosts: want 2 to 10');
  const lab = await Lab.create();
  let kept = false;
  try {
    const hosts: LabHost[] = [];
    for (let i = 0; i < count; i++) hosts.push(await lab.addHost(String.fromCharCode(97 + i)));
    say(`Creating ${count} hosts (network namespaces on one underlay, 10.201.0.0/24), wired as a line: ${hosts.map((h) => h.name).join(' - ')}.`);
    say('Each host reaches only its neighbours (iptables drops the rest).');
    await onlyLinks(lab, hosts, hosts.slice(1).map((h, i) => `${hosts[i].name}-${h.name}`));

    say('\nLaunching tsoverlay on each host, in mesh mode, each told only of the previous host,');
    say('with a shared password: sleeve datagrams and control frames sealed with NaCl...');
    const passwordFile = join(lab.dir, 'password');
    writeFileSync(passwordFile, `${randomBytes(18).toString('base64')}\n`, { mode: 0o600 });
    const sides = await startMesh(lab, hosts, (i) => (i > 0 ? [hosts[i - 1]] : []), ['--password-file', passwordFile], 60_000);
    for (const side of sides) {
      const name = `box-${side.host.name}`;
      await lab.exec(side.host.ns, process.execPath, [TSOVERLAY_BIN, 'dns-add', side.container.ip, name, '--api', side.daemon.apiSocket]);
      lab.setResolver(side.container.ns, side.subnet.replace(/0\/24$/, '1'), 'weave.local');
      say(`  host ${side.host.name}: underlay ${side.host.ip}, block ${side.subnet} (agreed with the peers, no database), container ${side.container.ip} named ${name}.weave.local`);
    }

    const [first, last] = [sides[0], sides[count - 1]];
    const target = `box-${last.host.name}`;
    say(`\nPinging ${target} (on host ${last.host.name}) by name from the container on host ${first.host.name}; every packet is relayed by the hosts in between:`);
    let output = '';
    for (let attempt = 0; attempt < 20 && !output; attempt++) {
      output = await lab.exec(first.container.ns, 'ping', ['-c', '3', '-i', '0.2', '-W', '2', target]).catch(() => '');
      if (!output) await new Promise((r) => setTimeout(r, 500));
    }
    if (!output) throw new Error('the ping did not get through');
    say(output.trimEnd());

    say(`\ntsoverlay status on host ${sides[1].host.name} (a relay):`);
    const relay = sides[1];
    say((await lab.exec(relay.host.ns, process.execPath, [TSOVERLAY_BIN, 'status', '--api', relay.daemon.apiSocket])).trimEnd());
    if (keep) {
      kept = true;
      say(`\nLeft running (--keep). Namespaces: ip netns list | grep ${lab.id}; a daemon's API: tsoverlay status --api ${first.daemon.apiSocket}`);
      say(`Remove everything with: kill ${sides.map((s) => s.daemon.pid).join(' ')}; for ns in $(ip netns list | awk '/${lab.id}/{print $1}'); do ip netns del $ns; done; rm -rf /etc/netns/${lab.id}-* ${lab.dir}`);
      return 0;
    }
    return 0;
  } finally {
    if (!kept) {
      await lab.cleanup();
      say('\nCleaned up: daemons stopped, namespaces removed.');
    } else {
      lab.detach();
    }
  }
}
