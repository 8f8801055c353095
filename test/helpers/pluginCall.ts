// Calls a Docker plugin over its unix socket as dockerd does: POST /Method, a JSON body.
import { request } from 'node:http';

export interface PluginReply {
  status: number;
  body: Record<string, unknown>;
}

/** `body` goes as JSON unless it is a string (sent as it is: malformed input). */
export function pluginCall(socketPath: string, method: string, body: unknown = {}): Promise<PluginReply> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: `/${method}`, method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> });
        } catch {
          reject(new Error(`${method}: not JSON: ${text}`));
        }
      });
    });
    req.on('error', reject);
    req.end(typeof body === 'string' ? body : JSON.stringify(body));
  });
}
