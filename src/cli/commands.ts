// The option tables of the commands other than `launch` (config/launchConfig.ts
// has that one): what they parse is what `--help` prints.
import { DEFAULT_API } from '../config/apiAddress.js';
import type { CommandSpec, OptionSpec } from '../config/args.js';

const api: OptionSpec = { type: 'string', value: 'ADDR', default: DEFAULT_API, help: 'the daemon\'s API: HOST:PORT or a unix socket path' };
const runDir: OptionSpec = { type: 'string', value: 'DIR', default: '/run/tsoverlay', help: 'the daemon\'s --run-dir' };

export const commands: Record<string, CommandSpec> = {
  status: {
    name: 'status', positionals: '[peers|connections|routes|dns|ipam]', summary: 'Shows the running daemon\'s state, or one view of it.',
    options: { json: { type: 'boolean', help: 'as JSON' }, dot: { type: 'boolean', help: 'the mesh as a Graphviz graph' }, api },
  },
  connect: { name: 'connect', positionals: 'PEER[:PORT]', summary: 'Adds a peer to keep connected to (mesh mode).', options: { api } },
  forget: { name: 'forget', positionals: 'PEER[:PORT]', summary: 'Drops a peer target (mesh mode).', options: { api } },
  'dns-add': { name: 'dns-add', positionals: 'IP NAME', summary: 'Adds a record to the DNS domain (weave.local), on every host.', options: { api } },
  'dns-remove': { name: 'dns-remove', positionals: 'IP [NAME]', summary: 'Removes the records of an address (or only NAME\'s).', options: { api } },
  'dns-lookup': { name: 'dns-lookup', positionals: 'NAME', summary: 'Prints the addresses of a name.', options: { api } },
  expose: { name: 'expose', positionals: '[IP]', summary: 'Gives the host an overlay address of its block.', options: { name: { type: 'string', value: 'NAME', help: 'a DNS name for it' }, api } },
  hide: { name: 'hide', positionals: 'IP', summary: 'Takes an exposed address away again.', options: { api } },
  stop: { name: 'stop', positionals: '', summary: 'Stops the daemon gracefully (as SIGTERM does).', options: { api } },
  restart: { name: 'restart', positionals: '', summary: 'Restarts the daemon without a gap: a successor with the same options takes over its TUN, sockets and state (launch --takeover).', options: { api } },
  reload: { name: 'reload', positionals: '', summary: 'Re-reads the launch options (the --config file) and applies what can change live, as SIGHUP does.', options: { api } },
  'docker-opts': { name: 'docker-opts', positionals: '', summary: 'Prints docker\'s --bip/--mtu/--ip-masq options for this host\'s subnet.', options: { 'run-dir': runDir } },
  demo: {
    name: 'demo', positionals: '', summary: 'Hosts in namespaces as a line, mesh mode, DNS names, a ping by name across relays, status; all removed unless --keep.',
    options: { hosts: { type: 'string', value: 'N', default: '3', help: 'how many hosts' }, keep: { type: 'boolean', help: 'leave everything running' } },
  },
  version: { name: 'version', positionals: '', summary: 'Prints the version.', options: {} },
};
