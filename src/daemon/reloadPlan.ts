// What a reload (SIGHUP, `tsoverlay reload`) may change in a running daemon,
// and what it cannot: the launch options re-read (the --config file again,
// then the command line) are compared with those in effect. Pure: the
// daemon and the modes apply the parts that changed (daemon.ts).
import type { LaunchConfig } from '../config/launchConfig.js';

export interface ReloadPlan {
  logLevel: boolean;
  /** Mesh mode: a rotated password (another password; none ↔ some is a restart). */
  password: boolean;
  /** Mesh mode: the peers named; static mode: the routes. */
  peers: boolean;
  routes: boolean;
  /** Options that differ and cannot change while running, as the user spells them. */
  fixed: string[];
}

const LIVE = new Set(['logLevel', 'password', 'source']);

export function planReload(current: LaunchConfig, next: LaunchConfig): ReloadPlan {
  const fixed = Object.keys(current)
    .filter((key) => !LIVE.has(key) && !same(current[key as keyof LaunchConfig], next[key as keyof LaunchConfig]))
    .map(optionName);
  const a = current.source;
  const b = next.source;
  let peers = false;
  let routes = false;
  if (a.kind !== b.kind) {
    fixed.push('mode (--etcd-endpoints, --subnet)');
  } else {
    const { peers: pa, routes: ra, ...restA } = a as Partial<{ peers: unknown; routes: unknown }> & typeof a;
    const { peers: pb, routes: rb, ...restB } = b as Partial<{ peers: unknown; routes: unknown }> & typeof b;
    peers = !same(pa, pb);
    routes = !same(ra, rb);
    for (const key of Object.keys(restA)) if (!same(restA[key as keyof typeof restA], restB[key as keyof typeof restB])) fixed.push(optionName(key));
  }
  const password = !same(current.password, next.password);
  if (password && (current.password === null) !== (next.password === null)) fixed.push('--password (on or off: the encryption itself)');
  return { logLevel: current.logLevel !== next.logLevel, password: password && current.password !== null && next.password !== null, peers, routes, fixed };
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** `ipallocRange` → `--ipalloc-range`: how the option is typed. */
function optionName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}
