// What a takeover needs of Node's sockets that Node keeps on their handles:
// the descriptor (to hand it over), and reading stopped at once (a paused
// stream still reads from the kernel; the bytes left there are the
// successor's). Node has kept these on `_handle` since its first releases;
// here is the one place that reaches for them.
import type { Server, Socket } from 'node:net';

interface StreamHandle {
  fd?: number;
  reading?: boolean;
  readStop?(): number;
  readStart?(): number;
}

function handleOf(s: Socket | Server): StreamHandle | null {
  return (s as unknown as { _handle: StreamHandle | null })._handle ?? null;
}

/** The descriptor of a connected socket or a listening server; -1 when it has none (closed). */
export function descriptorOf(s: Socket | Server): number {
  return handleOf(s)?.fd ?? -1;
}

/** Stops taking bytes from the kernel; false when the socket has no handle left. */
export function stopReading(socket: Socket): boolean {
  const handle = handleOf(socket);
  if (!handle?.readStop) return false;
  handle.reading = false;
  handle.readStop();
  return true;
}

export function startReading(socket: Socket): void {
  const handle = handleOf(socket);
  if (!handle?.readStart || handle.reading) return;
  handle.reading = true;
  handle.readStart();
}
