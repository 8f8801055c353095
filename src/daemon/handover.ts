// A takeover, the running daemon's side (the successor's is takeover.ts).
// At the signal it connects to the successor's socket, checks that the
// process listening there is the one holding the takeover lock, and offers
// its TUN and UDP descriptors while it goes on forwarding. At `go` it stops
// reading, hands its state and the mesh's sockets over, and waits, its event
// loop held, for `taken` (then it exits, removing nothing: the successor has
// it all) or anything else (then it goes on as before). A successor of an
// older build, that opens no socket, gets what it expects: this process
// exits, leaving the persistent TUN to be adopted.
import { join } from 'node:path';
import { VERSION } from '../api/status.js';
import type { Dataplane } from '../dataplane/dataplane.js';
import { native } from '../dataplane/native.js';
import { log } from '../log.js';
import { processAlive } from '../state/daemonInfo.js';
import { HandoverChannel } from './handoverChannel.js';
import { HANDOVER_VERSION, type Offer, parseAnswer } from './handoverMessages.js';
import type { RouteSource } from './hostPlan.js';
import { lockHolder, SOCKET } from './takeover.js';

/** How long a successor may take from `go` to `taken`: nothing forwards meanwhile. */
const TAKE_MS = 5000;

export interface HandingOver {
  runDir: string;
  offer: Omit<Offer, 't' | 'handover' | 'build' | 'pid'>;
  dataplane: Dataplane;
  routes: RouteSource;
  /** Goes without undoing anything: the successor has it. */
  exit(): never;
}

/** A takeover is under way: a second signal meanwhile changes nothing. */
let busy = false;

/**
 * Answers the signal. 'exit': a successor holds the lock but opened no
 * socket (an older build), and waits for this process to exit; 'stay': a
 * takeover is under way, or there is none to answer (no successor holds the
 * lock), and this process goes on.
 */
export function handOver(h: HandingOver): 'exit' | 'stay' {
  if (busy) {
    log.warn('a takeover is already under way; the signal is ignored');
    return 'stay';
  }
  const holder = lockHolder(h.runDir);
  if (holder <= 0 || holder === process.pid || !processAlive(holder)) {
    log.warn('asked to hand over, but no successor holds the takeover lock; going on');
    return 'stay';
  }
  let fd: number;
  try {
    fd = native.unixConnect(join(h.runDir, SOCKET));
  } catch {
    return 'exit';
  }
  const channel = new HandoverChannel(fd);
  busy = true;
  const done = () => {
    busy = false;
    channel.close();
  };
  try {
    offer(h, channel, holder, done);
  } catch (error) {
    done();
    log.error('takeover: the offer failed; going on', { error: (error as Error).message });
  }
  return 'stay';
}

function offer(h: HandingOver, channel: HandoverChannel, holder: number, done: () => void): void {
  const peer = channel.peer();
  if (peer.pid !== holder || peer.uid !== process.getuid?.()) {
    done();
    log.error('refused a takeover: the takeover socket is not the successor\'s; going on', { listener: peer.pid, lock: holder });
    return;
  }
  h.routes.handOver?.();
  channel.send({ t: 'offer', handover: HANDOVER_VERSION, build: VERSION, pid: process.pid, ...h.offer } satisfies Offer, h.dataplane.fds);
  log.info('offered the descriptors to a successor; forwarding until it is ready', { successor: peer.pid });
  const poller = native.pollStart(channel.fd, () => {
    native.pollStop(poller);
    // Whatever the successor does, nothing of it may throw past here: this is the daemon's event loop.
    try {
      const got = channel.receive(0);
      const answer = got && safeAnswer(got.message);
      if (answer?.t === 'go') give(h, channel);
      else log.warn('the successor gave up; going on', { reason: answer?.t === 'refuse' ? answer.reason : 'it closed' });
    } catch (error) {
      log.error('takeover failed; going on', { error: (error as Error).message });
    }
    done();
  });
}

function give(h: HandingOver, channel: HandoverChannel): void {
  h.dataplane.stop();
  let answer: ReturnType<typeof safeAnswer> = null;
  try {
    const frozen = h.routes.freeze?.() ?? null;
    channel.send({ t: 'state', mesh: frozen?.mesh ?? null, crypto: h.dataplane.cryptoHandover() }, frozen?.fds ?? []);
    const got = channel.receive(TAKE_MS);
    answer = got && safeAnswer(got.message);
  } catch (error) {
    log.warn('takeover: handing the state failed', { error: (error as Error).message });
  }
  channel.close();
  if (answer?.t === 'taken') {
    log.info('handed over to a successor: the TUN, its routes, the bridge, the rules and the connections are its now');
    h.exit();
  }
  log.warn('the successor did not take over; going on', { reason: answer?.t === 'refuse' ? answer.reason : 'no answer' });
  h.routes.thaw?.();
  h.dataplane.start();
}

function safeAnswer(message: unknown): ReturnType<typeof parseAnswer> | null {
  try {
    return parseAnswer(message);
  } catch {
    return null;
  }
}
