// sd_notify(3) without libsystemd: under a unit of Type=notify, systemd
// hands the service $NOTIFY_SOCKET, and the daemon says READY=1 once it
// forwards. MAINPID goes with it, so that a successor started by
// `tsoverlay restart` (a child, in the unit's cgroup; NotifyAccess=all)
// becomes the unit's main process when its predecessor exits, instead of
// systemd taking that exit for the service's end.
import { native } from '../dataplane/native.js';
import { log } from '../log.js';

export function notifySystemd(state: Record<string, string | number>): void {
  const socket = process.env.NOTIFY_SOCKET;
  if (!socket) return;
  const text = Object.entries(state).map(([k, v]) => `${k}=${v}`).join('\n');
  try {
    native.unixDatagram(socket, Buffer.from(text, 'utf8'));
  } catch (error) {
    log.warn('cannot notify systemd', { socket, error: (error as Error).message });
  }
}
