// The `tsoverlay` command.
import { apiGet, apiPost } from '../api/client.js';
import { type Status, VERSION } from '../api/status.js';
import { DEFAULT_API, parseApiAddress } from '../config/apiAddress.js';
import { flag, flagBool, parseArgs, UsageError } from '../config/args.js';
import { launchFlags, parseLaunchConfig } from '../config/launchConfig.js';
import { runDaemon } from '../daemon/daemon.js';
import { UserError } from '../errors.js';
import { dockerOpts, readSubnetEnv } from '../subnet/subnetEnv.js';
import { printStatus, printView, topologyDot } from './printStatus.js';

const usage = `usage: tsoverlay <command> [options]

  launch [--name N] [--ipalloc-range 10.32.0.0/12] [--subnet-len 24] [--backend sleeve|udp|vxlan]
         [--password-file F | --password S] [--public-ip IP] [--bridge NAME] [--reclaim-after S] [PEER[:PORT] ...]
                        mesh mode (default): subnets agreed with the peers, no store
  connect PEER[:PORT] | forget PEER[:PORT] [--api ADDR]
                        add or drop a peer to keep connected to (mesh mode)
  launch --network CIDR --subnet CIDR --public-ip IP [--backend udp|vxlan|sleeve]
         [--route SUBNET=IP[@VTEP_MAC]]... [--port N] [--vni N] [--tun NAME]
         [--bridge NAME] [--mtu N] [--run-dir DIR] [--api ADDR] [--listen IP]
                        run the daemon in the foreground (static routes)
  launch --etcd-endpoints URL[,URL] [--etcd-prefix /coreos.com/network]
         [--etcd-cafile F --etcd-certfile F --etcd-keyfile F] [--etcd-lease-ttl S]
         [--etcd-no-wait] [--public-ip IP | --iface IF] [--bridge NAME] ...
                        run the daemon with flannel's etcd network config and leases
  dns-add IP NAME | dns-remove IP [NAME] | dns-lookup NAME [--api ADDR]
                        records for the DNS domain (weave.local.)
  docker-opts [--run-dir DIR]
                        print docker's --bip/--mtu options for this host's subnet
  status [peers|connections|routes|dns|ipam] [--json] [--dot] [--api ADDR]
                        show the running daemon's state (--dot: the mesh for Graphviz)
  expose [IP] [--name NAME] | hide IP [--api ADDR]
                        give the host an overlay address of its block (and a DNS name)
  stop [--api ADDR]     stop the daemon gracefully (as SIGTERM does)
  demo [--hosts N] [--keep]
                        N hosts (3) in namespaces as a line, mesh mode, DNS names,
                        a ping by name across relays, status; all removed unless --keep
  version               print the version`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'launch': {
      const config = parseLaunchConfig(parseArgs(rest, launchFlags));
      // A password on the command line would show in ps and /proc/PID/cmdline: overwrite them.
      if (config.password !== null) process.title = 'tsoverlay launch';
      await runDaemon(config);
      return -1; // keeps running until a signal
    }
    case 'status': {
      const args = parseArgs(rest, { values: ['api'], boolean: ['json', 'dot'] });
      const status = (await apiGet(parseApiAddress(flag(args, 'api') ?? DEFAULT_API), '/status')) as Status;
      const view = args.positionals[0];
      if (flagBool(args, 'dot')) process.stdout.write(topologyDot(status));
      else if (view !== undefined) process.stdout.write(printView(status, view, flagBool(args, 'json')));
      else process.stdout.write(flagBool(args, 'json') ? JSON.stringify(status, null, 2) + '\n' : printStatus(status));
      return 0;
    }
    case 'connect':
    case 'forget': {
      const args = parseArgs(rest, { values: ['api'] });
      if (args.positionals.length !== 1) throw new UsageError(`usage: tsoverlay ${command} PEER[:PORT]`);
      const answer = (await apiPost(parseApiAddress(flag(args, 'api') ?? DEFAULT_API), `/${command}`, { peer: args.positionals[0] })) as { ok: boolean };
      if (!answer.ok) throw new UsageError(`${args.positionals[0]} was not a peer target`);
      return 0;
    }
    case 'dns-add':
    case 'dns-remove':
    case 'dns-lookup': {
      const args = parseArgs(rest, { values: ['api'] });
      const api = parseApiAddress(flag(args, 'api') ?? DEFAULT_API);
      const [a, b] = args.positionals;
      if (command === 'dns-add') {
        if (args.positionals.length !== 2) throw new UsageError('usage: tsoverlay dns-add IP NAME');
        const r = (await apiPost(api, '/dns/add', { ip: a, name: b })) as { name: string; ip: string };
        process.stdout.write(`${r.name} ${r.ip}\n`);
      } else if (command === 'dns-remove') {
        if (args.positionals.length < 1 || args.positionals.length > 2) throw new UsageError('usage: tsoverlay dns-remove IP [NAME]');
        const r = (await apiPost(api, '/dns/remove', { ip: a, name: b })) as { removed: number };
        if (r.removed === 0) throw new UsageError(`no record for ${a}${b ? ` named ${b}` : ''}`);
      } else {
        if (args.positionals.length !== 1) throw new UsageError('usage: tsoverlay dns-lookup NAME');
        const r = (await apiPost(api, '/dns/lookup', { name: a })) as { name: string; ips: string[] };
        if (r.ips.length === 0) throw new UsageError(`${r.name}: no such name`);
        process.stdout.write(r.ips.join('\n') + '\n');
      }
      return 0;
    }
    case 'expose':
    case 'hide': {
      const args = parseArgs(rest, { values: ['api', 'name'] });
      const api = parseApiAddress(flag(args, 'api') ?? DEFAULT_API);
      if (command === 'expose') {
        const r = (await apiPost(api, '/expose', { ip: args.positionals[0], name: flag(args, 'name') })) as { ip: string };
        process.stdout.write(`${r.ip}\n`);
      } else {
        if (args.positionals.length !== 1) throw new UsageError('usage: tsoverlay hide IP');
        const r = (await apiPost(api, '/hide', { ip: args.positionals[0] })) as { ok: boolean };
        if (!r.ok) throw new UsageError(`${args.positionals[0]} was not exposed`);
      }
      return 0;
    }
    case 'stop': {
      const args = parseArgs(rest, { values: ['api'] });
      await apiPost(parseApiAddress(flag(args, 'api') ?? DEFAULT_API), '/stop', {});
      return 0;
    }
    case 'docker-opts': {
      const args = parseArgs(rest, { values: ['run-dir'] });
      const runDir = flag(args, 'run-dir') ?? '/run/tsoverlay';
      const env = await readSubnetEnv(runDir);
      if (!env) throw new UsageError(`no subnet.env in ${runDir}: is tsoverlay running (with this --run-dir)?`);
      process.stdout.write(dockerOpts(env) + '\n');
      return 0;
    }
    case 'demo': {
      const args = parseArgs(rest, { values: ['hosts'], boolean: ['keep'] });
      const { runDemo } = await import('../lab/demo.js');
      return runDemo(Number(flag(args, 'hosts') ?? 3), flagBool(args, 'keep'));
    }
    case 'version':
    case '--version':
      process.stdout.write(`tsoverlay ${VERSION}\n`);
      return 0;
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(usage + '\n');
      return 0;
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}\n${usage}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (error: Error) => {
    const known = error instanceof UserError;
    process.stderr.write(`tsoverlay: ${known ? error.message : error.stack ?? error.message}\n`);
    process.exit(known ? 2 : 1);
  },
);
