// `tsoverlay demo`: two hosts in network namespaces, a container on each,
// tsoverlay between them; a ping across the overlay, then everything removed.
import { Lab } from './lab.js';
import { twoHosts } from './twoHosts.js';
import { printStatus } from '../cli/printStatus.js';

export async function runDemo(): Promise<number> {
  const say = (line: string) => process.stdout.write(line + '\n');
  const lab = await Lab.create();
  try {
    say('Creating two hosts (network namespaces on a shared underlay 10.201.0.0/24), tsoverlay on each (udp backend)...');
    const { a, b } = await twoHosts(lab, 'udp');
    say(`  host a: underlay ${a.host.ip}, subnet ${a.subnet}, container ${a.container.ip}`);
    say(`  host b: underlay ${b.host.ip}, subnet ${b.subnet}, container ${b.container.ip}`);
    say(`\nPinging ${b.container.ip} (container on b) from ${a.container.ip} (container on a):`);
    say((await lab.exec(a.container.ns, 'ping', ['-c', '3', '-i', '0.2', '-W', '2', b.container.ip])).trimEnd());
    say('\ntsoverlay status on host a:');
    say(printStatus(await a.daemon!.status()).trimEnd());
    say('\nThe ping crossed the overlay: container a -> bridge -> tso0 (TUN) -> tsoverlay -> UDP 8285 -> host b -> tso0 -> container b.');
    return 0;
  } finally {
    await lab.cleanup();
    say('Cleaned up: daemons stopped, namespaces removed.');
  }
}
