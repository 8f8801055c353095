// Serves the Docker plugin on a unix socket where dockerd looks for plugins
// (/run/docker/plugins/tsoverlay.sock): one table from method to handler,
// 404 for a method it does not have (as the protocol wants), `{"Err"}` for
// a request it refuses, the daemon never the worse for a bad one.
import { mkdir, unlink } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { ListenError } from '../errors.js';
import { type Body, PLUGIN_CONTENT_TYPE, PluginError, readCreateEndpoint, readCreateNetwork, readEndpointRef, readRequestAddress, readRequestPool, required } from './pluginProtocol.js';
import type { DockerIpam } from './dockerIpam.js';
import type { NetworkDriver } from './networkDriver.js';

export const PLUGIN_NAME = 'tsoverlay';

type Method = (body: Body) => Promise<object> | object;

export interface PluginCounters {
  calls: number;
  refused: number;
  unknownMethod: number;
}

export class PluginServer {
  private readonly server: Server;
  private readonly methods: Record<string, Method>;
  readonly counters: PluginCounters = { calls: 0, refused: 0, unknownMethod: 0 };
  readonly socket: string;

  constructor(dir: string, driver: NetworkDriver, ipam: DockerIpam, private readonly onRefused: (method: string, error: string) => void) {
    this.socket = join(dir, `${PLUGIN_NAME}.sock`);
    const none = () => ({});
    this.methods = {
      'Plugin.Activate': () => ({ Implements: ['NetworkDriver', 'IpamDriver'] }),
      'NetworkDriver.GetCapabilities': () => driver.capabilities(),
      'NetworkDriver.CreateNetwork': (b) => driver.createNetwork(readCreateNetwork(b)),
      'NetworkDriver.DeleteNetwork': (b) => driver.deleteNetwork(required(b, 'NetworkID')),
      'NetworkDriver.CreateEndpoint': (b) => driver.createEndpoint(readCreateEndpoint(b)),
      'NetworkDriver.EndpointOperInfo': (b) => driver.endpointOperInfo(readEndpointRef(b)),
      'NetworkDriver.DeleteEndpoint': (b) => driver.deleteEndpoint(readEndpointRef(b)),
      'NetworkDriver.Join': (b) => driver.join(readEndpointRef(b)),
      'NetworkDriver.Leave': (b) => driver.leave(readEndpointRef(b)),
      // Swarm's and discovery's calls: nothing to do for a local-scope driver.
      'NetworkDriver.AllocateNetwork': none,
      'NetworkDriver.FreeNetwork': none,
      'NetworkDriver.DiscoverNew': none,
      'NetworkDriver.DiscoverDelete': none,
      'NetworkDriver.ProgramExternalConnectivity': none,
      'NetworkDriver.RevokeExternalConnectivity': none,
      'IpamDriver.GetCapabilities': () => ipam.capabilities(),
      'IpamDriver.GetDefaultAddressSpaces': () => ipam.addressSpaces(),
      'IpamDriver.RequestPool': (b) => ipam.requestPool(readRequestPool(b)),
      'IpamDriver.ReleasePool': (b) => ipam.releasePool(required(b, 'PoolID')),
      'IpamDriver.RequestAddress': (b) => ipam.requestAddress(readRequestAddress(b)),
      'IpamDriver.ReleaseAddress': (b) => ipam.releaseAddress(required(b, 'PoolID'), required(b, 'Address')),
    };
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  async listen(): Promise<void> {
    await mkdir(join(this.socket, '..'), { recursive: true });
    await unlink(this.socket).catch(() => {});
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', (error: NodeJS.ErrnoException) => reject(new ListenError(`Docker plugin cannot listen on ${this.socket}`, error)));
      this.server.listen(this.socket, resolve);
    });
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
    // dockerd finds plugins by their socket: none left, none looked for.
    await unlink(this.socket).catch(() => {});
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.counters.calls++;
    const name = (req.url ?? '/').split('?')[0].slice(1);
    const method = req.method === 'POST' && Object.hasOwn(this.methods, name) ? this.methods[name] : undefined;
    try {
      if (!method) {
        this.counters.unknownMethod++;
        req.resume();
        return reply(res, 404, { Err: `no such method: ${req.method} /${name}` });
      }
      reply(res, 200, await method(await readBody(req)));
    } catch (error) {
      this.counters.refused++;
      const message = (error as Error).message;
      // Ours to look into when it is not the request's fault.
      this.onRefused(name, error instanceof PluginError ? message : `${message} (${(error as Error).stack ?? ''})`);
      reply(res, 500, { Err: message });
    }
  }
}

/** The request's JSON object; Docker sends an empty body to some methods. */
async function readBody(req: IncomingMessage): Promise<Body> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 1 << 20) throw new PluginError('request body too large');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new PluginError('request body is not JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new PluginError('request body is not a JSON object');
  return body as Body;
}

function reply(res: ServerResponse, status: number, body: object): void {
  res.writeHead(status, { 'content-type': PLUGIN_CONTENT_TYPE });
  res.end(JSON.stringify(body));
}
