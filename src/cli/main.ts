// The `tsoverlay` command.
// Only `launch` loads the daemon (and with it the native addon and
// sodium-native): help, version, status and the API commands run without them.
import { apiGet, apiPost } from '../api/client.js';
import { type Status, VERSION } from '../api/status.js';
import { parseApiAddress } from '../config/apiAddress.js';
import { type CommandSpec, flag, flagBool, helpText, type ParsedArgs, parseArgs, UsageError } from '../config/args.js';
import { launchCommand, loadLaunchConfig } from '../config/launchConfig.js';
import { UserError } from '../errors.js';
import { processAlive } from '../state/daemonInfo.js';
import { dockerOpts, readSubnetEnv } from '../subnet/subnetEnv.js';
import { commands } from './commands.js';
import { printStatus, printView, topologyDot } from './printStatus.js';

const usage = `usage: tsoverlay <command> [options]   ('tsoverlay <command> --help' for its options)

  launch [PEER[:PORT] ...]      run the daemon: a mesh (default), or with --etcd-endpoints, or static routes
  status [VIEW]                 the running daemon's state
  connect PEER | forget PEER    add or drop a peer target (mesh mode)
  dns-add IP NAME | dns-remove IP [NAME] | dns-lookup NAME
                                records of the DNS domain (weave.local)
  expose [IP] | hide IP         an overlay address for the host itself
  docker-opts                   docker's --bip/--mtu options for this host's subnet
  stop                          stop the daemon gracefully
  restart                       hand the running daemon over to a new process (an upgrade, a changed build)
  reload                        re-read the launch options (--config) and apply what can change live
  demo                          three hosts in namespaces, a ping by name across a relay
  version                       print the version`;

/** Parses a command's arguments; null when --help was asked for (and printed). */
function argsOf(spec: CommandSpec, argv: string[]): ParsedArgs | null {
  const args = parseArgs(argv, spec);
  if (!args.help) return args;
  process.stdout.write(helpText(spec));
  return null;
}

/** Loads the parts with native code; one that is missing or broken is one line saying what to do. */
async function loadBuilt<T>(load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (!['ERR_MODULE_NOT_FOUND', 'MODULE_NOT_FOUND', 'ERR_DLOPEN_FAILED'].includes(e.code ?? '')) throw error;
    throw new UserError(`tsoverlay is not (fully) built: ${e.message.split('\n')[0]}; run scripts/setup`);
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help') {
    process.stdout.write(usage + '\n');
    return 0;
  }
  if (command === '--version') return run('version', []);
  if (command === 'launch') {
    const args = argsOf(launchCommand, rest);
    if (!args) return 0;
    const load = () => loadLaunchConfig(rest);
    const config = load();
    // A password on the command line would show in ps and /proc/PID/cmdline: overwrite them.
    if (config.password !== null) process.title = 'tsoverlay launch';
    const { runDaemon } = await loadBuilt(() => import('../daemon/daemon.js'));
    await runDaemon(config, load);
    return -1; // keeps running until a signal
  }
  return run(command, rest);
}

async function run(command: string, rest: string[]): Promise<number> {
  const spec = commands[command];
  if (!spec) throw new UsageError(`unknown command ${JSON.stringify(command)}\n${usage}`);
  const args = argsOf(spec, rest);
  if (!args) return 0;
  const { positionals } = args;
  const [a, b] = positionals;
  const api = () => parseApiAddress(flag(args, 'api')!);
  const expect = (ok: boolean) => {
    if (!ok) throw new UsageError(`usage: tsoverlay ${spec.name} ${spec.positionals}`);
  };
  switch (command) {
    case 'status': {
      const status = (await apiGet(api(), '/status')) as Status;
      if (flagBool(args, 'dot')) process.stdout.write(topologyDot(status));
      else if (a !== undefined) process.stdout.write(printView(status, a, flagBool(args, 'json')));
      else process.stdout.write(flagBool(args, 'json') ? JSON.stringify(status, null, 2) + '\n' : printStatus(status));
      return 0;
    }
    case 'connect':
    case 'forget': {
      expect(positionals.length === 1);
      const answer = (await apiPost(api(), `/${command}`, { peer: a })) as { ok: boolean };
      if (!answer.ok) throw new UsageError(`${a} was not a peer target`);
      return 0;
    }
    case 'dns-add': {
      expect(positionals.length === 2);
      const r = (await apiPost(api(), '/dns/add', { ip: a, name: b })) as { name: string; ip: string };
      process.stdout.write(`${r.name} ${r.ip}\n`);
      return 0;
    }
    case 'dns-remove': {
      expect(positionals.length === 1 || positionals.length === 2);
      const r = (await apiPost(api(), '/dns/remove', { ip: a, name: b })) as { removed: number };
      if (r.removed === 0) throw new UsageError(`no record for ${a}${b ? ` named ${b}` : ''}`);
      return 0;
    }
    case 'dns-lookup': {
      expect(positionals.length === 1);
      const r = (await apiPost(api(), '/dns/lookup', { name: a })) as { name: string; ips: string[] };
      if (r.ips.length === 0) throw new UsageError(`${r.name}: no such name`);
      process.stdout.write(r.ips.join('\n') + '\n');
      return 0;
    }
    case 'expose': {
      const r = (await apiPost(api(), '/expose', { ip: a, name: flag(args, 'name') })) as { ip: string };
      process.stdout.write(`${r.ip}\n`);
      return 0;
    }
    case 'hide': {
      expect(positionals.length === 1);
      const r = (await apiPost(api(), '/hide', { ip: a })) as { ok: boolean };
      if (!r.ok) throw new UsageError(`${a} was not exposed`);
      return 0;
    }
    case 'stop':
      await apiPost(api(), '/stop', {});
      return 0;
    case 'restart': {
      const r = (await apiPost(api(), '/restart', {})) as { from: number; successor: number };
      await tookOver(api(), r.from, r.successor);
      process.stdout.write(`restarted: pid ${r.from} handed over to pid ${r.successor}\n`);
      return 0;
    }
    case 'reload': {
      const r = (await apiPost(api(), '/reload', {})) as { applied: string[]; needRestart: string[] };
      process.stdout.write(`applied: ${r.applied.join('; ') || 'nothing changed'}\n`);
      if (r.needRestart.length > 0) process.stdout.write(`needs a restart (left as they were): ${r.needRestart.join(' ')}\n`);
      return 0;
    }
    case 'docker-opts': {
      const runDir = flag(args, 'run-dir')!;
      const env = await readSubnetEnv(runDir);
      if (!env) throw new UsageError(`no subnet.env in ${runDir}: is tsoverlay running (with this --run-dir)?`);
      process.stdout.write(dockerOpts(env) + '\n');
      return 0;
    }
    case 'demo': {
      const { runDemo } = await loadBuilt(() => import('../lab/demo.js'));
      return runDemo(Number(flag(args, 'hosts')), flagBool(args, 'keep'));
    }
    default: // version
      process.stdout.write(`tsoverlay ${VERSION}\n`);
      return 0;
  }
}

/** Until the API answers from the successor; the successor's own refusal is in the daemon's log. */
async function tookOver(address: ReturnType<typeof parseApiAddress>, from: number, successor: number): Promise<void> {
  const deadline = Date.now() + 40_000;
  while (Date.now() < deadline) {
    const pid = await apiGet(address, '/status').then((s) => (s as Status).process.pid, () => null);
    if (pid === successor) return;
    if (!processAlive(successor)) throw new UserError(`the successor (pid ${successor}) exited without taking over; pid ${from} goes on (its log says why)`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new UserError(`the successor (pid ${successor}) did not take over within 40 s`);
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
