// The CLI's side of the API: one GET, parsed JSON back.
import { UserError } from '../errors.js';
import { request } from 'node:http';
import type { ApiAddress } from '../config/apiAddress.js';

/** The daemon answered with an error, or could not be reached. */
export class ApiError extends UserError {}

export function apiGet(address: ApiAddress, path: string): Promise<unknown> {
  return apiCall(address, 'GET', path);
}

export function apiPost(address: ApiAddress, path: string, body: unknown): Promise<unknown> {
  return apiCall(address, 'POST', path, body);
}

function apiCall(address: ApiAddress, method: string, path: string, body?: unknown): Promise<unknown> {
  const target = address.kind === 'unix' ? { socketPath: address.path } : { host: address.host, port: address.port };
  return new Promise((resolve, reject) => {
    const req = request({ ...target, path, method, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          if (res.statusCode !== 200) reject(new ApiError(body.error ?? `HTTP ${res.statusCode}`));
          else resolve(body);
        } catch (error) {
          reject(error);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('API did not answer within 5 s')));
    req.on('error', (e: NodeJS.ErrnoException) => reject(new ApiError(`cannot reach the daemon's API: ${e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? 'is tsoverlay running?' : e.message}`)));
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}
