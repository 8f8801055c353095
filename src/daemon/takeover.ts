// `launch --takeover`: a planned restart or an upgrade, the successor's
// side. The new process loads, parses its options and checks the state it
// will read while the running daemon forwards; then it listens on
// <run-dir>/takeover.sock and asks that daemon to hand over (SIGUSR2). The
// daemon connects and offers its TUN and UDP descriptors while it goes on
// forwarding (handover.ts); the successor plans, sets up the host and opens
// the data path on them, then says go: the daemon stops, hands its mesh
// (views, keys, the control connections' sockets) and exits once the
// successor has taken it. The outage is the hand-over of that state.
// A daemon of a build from before descriptor passing just exits at the
// signal, leaving the persistent TUN to be adopted as after a crash.
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { VERSION } from '../api/status.js';
import { native } from '../dataplane/native.js';
import { UserError } from '../errors.js';
import { log } from '../log.js';
import { processAlive, readDaemonInfo } from '../state/daemonInfo.js';
import { HandoverChannel } from './handoverChannel.js';
import { type HandedState, HANDOVER_VERSION, HandoverStateError, type Offer, parseOffer, parseState } from './handoverMessages.js';

export class TakeoverError extends UserError {}

/** The signal that asks a running daemon to hand over. */
export const HANDOVER_SIGNAL = 'SIGUSR2';
export const LOCK = 'takeover.lock';
export const SOCKET = 'takeover.sock';
const WAIT_MS = 10_000;

/** What the successor was started with, that the running daemon's descriptors must match. */
export type Expected = Pick<Offer, 'mode' | 'tun' | 'offload' | 'listen'>;

/** The running daemon, while it hands over. */
export class Predecessor {
  /** Told it may exit: from here the successor owns everything. */
  wasTaken = false;

  constructor(
    readonly offer: Offer,
    private readonly channel: HandoverChannel,
    /** Its TUN and UDP descriptors, ours now as well. */
    readonly tun: number,
    readonly udp: number,
  ) {}

  /**
   * Tells it to stop and hand over its state; from here until `taken` or
   * `refuse` nothing forwards. Throws (and the daemon goes on) when what
   * comes does not parse.
   */
  takeState(): HandedState & { fds: number[] } {
    this.channel.send({ t: 'go' });
    const got = this.channel.receive(WAIT_MS);
    if (!got) throw new TakeoverError(`--takeover: the running daemon (pid ${this.offer.pid}) handed over no state; it goes on`);
    try {
      return { ...parseState(got.message, got.fds.length), fds: got.fds };
    } catch (error) {
      for (const fd of got.fds) native.close(fd);
      if (!(error instanceof HandoverStateError)) throw error;
      this.refuse(`its state does not parse: ${error.message}`);
      throw new TakeoverError(`--takeover refused, the running daemon (pid ${this.offer.pid}) goes on: its state does not parse (${error.message})`);
    }
  }

  /** Refuses what it offered: it goes on as before. */
  refuse(reason: string): void {
    try {
      this.channel.send({ t: 'refuse', reason });
    } catch {
      // gone already
    }
    this.channel.close();
  }

  /** Everything is ours: it may exit. Resolves once it has. */
  async taken(): Promise<void> {
    this.wasTaken = true;
    this.channel.send({ t: 'taken' });
    this.channel.close();
    const deadline = Date.now() + WAIT_MS;
    while (processAlive(this.offer.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
    log.info('took over', { from: this.offer.pid });
  }
}

/**
 * Takes over from the daemon running on this run dir, if one is: its offer,
 * or null when none runs (a plain start) or it exited at the signal (an
 * older build: adopt as after a crash). `check` runs first: whatever it
 * refuses leaves the running daemon alone.
 */
export async function takeOver(runDir: string, check: () => void, expected: Expected): Promise<Predecessor | null> {
  const running = readDaemonInfo(runDir);
  if (!running || !processAlive(running.pid) || running.pid === process.pid) {
    log.info('--takeover: no daemon runs on this run dir; starting afresh', { runDir });
    return null;
  }
  lock(runDir);
  const refused = (why: string) => {
    unlock(runDir);
    return new TakeoverError(`--takeover refused, the running daemon (pid ${running.pid}) left alone: ${why}`);
  };
  try {
    check();
  } catch (error) {
    throw refused((error as Error).message);
  }
  const path = join(runDir, SOCKET);
  rmSync(path, { force: true });
  const listener = native.unixListen(path);
  let channel: HandoverChannel | null = null;
  try {
    process.kill(running.pid, HANDOVER_SIGNAL);
    const deadline = Date.now() + WAIT_MS;
    while (channel === null) {
      const fd = native.unixAccept(listener, 20);
      if (fd >= 0) channel = fromRunning(new HandoverChannel(fd), running.pid);
      else if (!processAlive(running.pid)) {
        log.info('took over from a daemon that hands over no descriptors: adopting what it left', { from: running.pid });
        return null;
      } else if (Date.now() > deadline) {
        unlock(runDir);
        throw new TakeoverError(`--takeover: the running daemon (pid ${running.pid}) did not hand over within ${WAIT_MS / 1000} s; it was left as it is`);
      }
    }
    const got = channel.receive(WAIT_MS);
    if (!got) throw refused('it made no offer');
    const [tun, udp] = got.fds;
    let offer: Offer;
    try {
      offer = parseOffer(got.message);
    } catch (error) {
      got.fds.forEach((fd) => native.close(fd));
      throw refused(`its offer does not parse: ${(error as Error).message}`);
    }
    const mismatch = differences(offer, expected);
    if (got.fds.length !== 2 || mismatch) {
      got.fds.forEach((fd) => native.close(fd));
      const why = mismatch ?? `${got.fds.length} descriptors offered`;
      channel.send({ t: 'refuse', reason: why });
      throw refused(why);
    }
    log.info('the running daemon offers its descriptors', { from: offer.pid, build: offer.build });
    const predecessor = new Predecessor(offer, channel, tun, udp);
    channel = null;
    return predecessor;
  } finally {
    channel?.close();
    native.close(listener);
    rmSync(path, { force: true });
  }
}

/** The channel if the running daemon is at its other end; anyone else who could reach the socket is refused. */
function fromRunning(channel: HandoverChannel, pid: number): HandoverChannel | null {
  const peer = channel.peer();
  if (peer.pid === pid && peer.uid === process.getuid?.()) return channel;
  channel.close();
  log.warn('--takeover: a connection to the takeover socket from another process refused', { pid: peer.pid });
  return null;
}

/** Why the offer cannot be taken by this process, or null. */
export function differences(offer: Offer, expected: Expected): string | null {
  if (offer.handover !== HANDOVER_VERSION) return `its build (${offer.build}) hands over in version ${offer.handover} of the takeover, this one (${VERSION}) in ${HANDOVER_VERSION}; restart it instead`;
  const changed = (['mode', 'tun', 'offload', 'listen'] as const).filter((k) => offer[k] !== expected[k]);
  const listed = (from: Offer | Expected) => changed.map((k) => `${k} ${from[k]}`).join(', ');
  if (changed.length > 0) return `it runs with ${listed(offer)}, this one with ${listed(expected)}; restart it instead`;
  return null;
}

/** The state files a successor reads must parse before the running daemon is asked to go. */
export function checkStateFiles(runDir: string, files: string[]): void {
  for (const name of files) {
    let text: string;
    try {
      text = readFileSync(join(runDir, name), 'utf8');
    } catch {
      continue; // none: nothing to read
    }
    try {
      JSON.parse(text);
    } catch {
      throw new TakeoverError(`${join(runDir, name)} does not parse`);
    }
  }
}

/** One takeover at a time: the lock names the process that holds it, and one whose process is gone is taken. */
function lock(runDir: string): void {
  const file = join(runDir, LOCK);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = lockHolder(runDir);
      if (holder > 0 && processAlive(holder)) {
        throw new TakeoverError(`--takeover refused: another takeover (pid ${holder}) is in progress; the running daemon left alone`);
      }
      rmSync(file, { force: true });
    }
  }
  throw new TakeoverError(`--takeover refused: cannot take ${file}`);
}

/** Once the new daemon is ready (or gave up). */
export function unlock(runDir: string): void {
  if (lockHolder(runDir) === process.pid) rmSync(join(runDir, LOCK), { force: true });
}

/** The pid in the takeover lock; -1 when there is none or it names no process. */
export function lockHolder(runDir: string): number {
  try {
    const pid = Number(readFileSync(join(runDir, LOCK), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : -1;
  } catch {
    return -1;
  }
}
