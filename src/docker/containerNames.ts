// Names for containers by themselves, as weave gives them: follows dockerd's
// events and, for each running container with an address in this host's
// subnet (on the plugin's networks or on docker0 with --bip), keeps
// `<name>.<domain>` (and its hostname, when that is in the domain) until it
// stops. A dockerd that goes away is followed again when it is back, and
// what changed meanwhile is put right then.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type Docker from 'dockerode';
import type { DockerApiAddress } from '../config/dockerApiAddress.js';
import { type Cidr, cidrContains, isIPv4, parseIPv4 } from '../net/ipv4.js';
import { canonicalIPv6, isIPv6, parseIPv6 } from '../net/ipv6.js';
import { type Cidr6, cidr6ContainsWords, wordsOf } from '../net/ipv6Cidr.js';
import { writeFileAtomic } from '../state/atomicFile.js';

export interface NameSink {
  add(ip: string, name: string): Promise<void>;
  remove(ip: string, name: string): Promise<void>;
}

export interface NamedRecord {
  ip: string;
  name: string;
}

export interface ContainerNamesStatus {
  connected: boolean;
  containers: number;
  names: number;
  events: number;
  reconnects: number;
  failures: number;
}

const FILE = 'docker-names.json';
const RETRY_MS = [250, 500, 1000, 2000];

export class ContainerNames {
  private docker: Docker | null = null;
  /** Container id -> the records this follower gave it; persisted, so a restart can take back what went meanwhile. */
  private readonly named: Map<string, NamedRecord[]>;
  private queue: Promise<void> = Promise.resolve();
  private stream: NodeJS.ReadableStream | null = null;
  private stopped = false;
  private readonly counters = { events: 0, reconnects: 0, failures: 0 };
  private connected = false;
  /** Set once events were followed: later connections are reconnections. */
  private followedBefore = false;

  constructor(
    private readonly subnet: Cidr,
    /** Dual stack: IPv6 addresses in it get names (AAAA) too. */
    private readonly subnet6: Cidr6 | null,
    private readonly domain: string,
    private readonly sink: NameSink,
    private readonly runDir: string,
    private readonly log: (message: string, fields?: Record<string, unknown>) => void,
    private readonly api: DockerApiAddress,
  ) {
    this.named = loadNamed(join(runDir, FILE));
  }

  start(): void {
    void this.follow();
  }

  close(): void {
    this.stopped = true;
    (this.stream as { destroy?: () => void } | null)?.destroy?.();
  }

  status(): ContainerNamesStatus {
    return {
      connected: this.connected,
      containers: this.named.size,
      names: [...this.named.values()].reduce((n, r) => n + r.length, 0),
      ...this.counters,
    };
  }

  private async follow(): Promise<void> {
    // Loaded only when asked for: dockerode brings ≈ 20 MB and 0.2 s of modules.
    const { default: Dockerode } = await import('dockerode');
    const api = this.api;
    const docker = new Dockerode(api.kind === 'unix' ? { socketPath: api.socketPath } : { host: api.host, port: api.port, protocol: 'http' });
    this.docker = docker;
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        // Events first, then the list: nothing that happens in between is missed.
        const stream = await docker.getEvents({ filters: { type: ['container', 'network'] } });
        this.stream = stream;
        if (this.stopped) break;
        const lines = createInterface({ input: stream as NodeJS.ReadableStream & AsyncIterable<string> });
        if (this.followedBefore) this.counters.reconnects++;
        this.followedBefore = this.connected = true;
        attempt = 0;
        this.log('following docker events');
        const running = await docker.listContainers();
        const ids = new Set(running.map((c) => c.Id));
        for (const id of new Set([...ids, ...this.named.keys()])) this.enqueue(id);
        for await (const line of lines) this.onEvent(line);
      } catch (error) {
        if (!this.stopped && this.connected) this.log('docker events stopped', { error: (error as Error).message });
      }
      if (this.connected && !this.stopped) this.log('docker events ended; following again when dockerd is back');
      this.connected = false;
      if (!this.stopped) await new Promise((r) => setTimeout(r, RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)]));
    }
  }

  private onEvent(line: string): void {
    let event: { Type?: string; Action?: string; id?: string; Actor?: { ID?: string; Attributes?: Record<string, string> } };
    try {
      event = JSON.parse(line);
    } catch {
      return;
    }
    this.counters.events++;
    // A network event names its container in the attributes; a container event is the container.
    const id = event.Type === 'network' ? event.Actor?.Attributes?.container : event.Actor?.ID ?? event.id;
    if (typeof id === 'string' && id !== '') this.enqueue(id);
  }

  /** One container at a time, in the order things happened. */
  private enqueue(id: string): void {
    this.queue = this.queue.then(() => this.update(id)).catch((error: Error) => {
      this.counters.failures++;
      this.log('naming a container failed', { container: id.slice(0, 12), error: error.message });
    });
  }

  private async update(id: string): Promise<void> {
    const wanted = await this.wanted(id);
    const had = this.named.get(id) ?? [];
    const key = (r: NamedRecord) => `${r.ip} ${r.name}`;
    const keep = new Set(wanted.map(key));
    const old = new Set(had.map(key));
    for (const r of had) if (!keep.has(key(r))) await this.sink.remove(r.ip, r.name);
    for (const r of wanted) if (!old.has(key(r))) await this.sink.add(r.ip, r.name);
    if (keep.size === old.size && [...keep].every((k) => old.has(k))) return;
    if (wanted.length > 0) this.named.set(id, wanted);
    else this.named.delete(id);
    await writeFileAtomic(join(this.runDir, FILE), JSON.stringify(Object.fromEntries(this.named)));
  }

  /** The records a container should have now: none unless it runs with an address of ours. */
  private async wanted(id: string): Promise<NamedRecord[]> {
    let info: Docker.ContainerInspectInfo;
    try {
      info = await this.docker!.getContainer(id).inspect();
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return [];
      throw error;
    }
    if (!info.State.Running) return [];
    // docker0's address is among the networks too (as "bridge").
    const networks = Object.values(info.NetworkSettings.Networks ?? {});
    const subnet6 = this.subnet6;
    const ips = new Set([
      ...networks.map((n) => n.IPAddress).filter((ip) => isIPv4(ip) && cidrContains(this.subnet, parseIPv4(ip))),
      ...(subnet6 ? networks.map((n) => n.GlobalIPv6Address).filter((ip) => isIPv6(ip) && cidr6ContainsWords(subnet6, wordsOf(parseIPv6(ip)))).map(canonicalIPv6) : []),
    ]);
    if (ips.size === 0) return [];
    const names = [info.Name.replace(/^\//, '')];
    const host = info.Config.Domainname ? `${info.Config.Hostname}.${info.Config.Domainname}` : info.Config.Hostname;
    if (host && host.toLowerCase().replace(/\.$/, '').endsWith(`.${this.domain}`)) names.push(host);
    return [...ips].flatMap((ip) => names.map((name) => ({ ip, name })));
  }
}

function loadNamed(file: string): Map<string, NamedRecord[]> {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    return new Map(Object.entries(v).filter((e): e is [string, NamedRecord[]] => Array.isArray(e[1]) && e[1].every((r) => (isIPv4(r?.ip) || isIPv6(r?.ip)) && typeof r?.name === 'string')));
  } catch {
    return new Map();
  }
}
