// A daemon's /metrics, read over its API socket.
import { request } from 'node:http';
import type { LabDaemon } from '../../src/lab/labDaemon.js';

export function metrics(daemon: LabDaemon): Promise<string> {
  return new Promise((resolve, reject) => {
    request({ socketPath: daemon.apiSocket, path: '/metrics' }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body));
    }).on('error', reject).end();
  });
}

/** The first number `line` captures in a /metrics text; NaN when absent. */
export const metric = (text: string, line: RegExp) => Number(line.exec(text)?.[1] ?? NaN);
