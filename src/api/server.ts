// The HTTP status and control API. Loopback or a unix socket unless told otherwise.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { unlink } from 'node:fs/promises';
import { type ApiAddress, formatApiAddress } from '../config/apiAddress.js';
import { ListenError, UserError } from '../errors.js';

export type Handler = (req: IncomingMessage) => Promise<unknown> | unknown;

/** A reply that is not JSON (the Prometheus text format, say). */
export class RawReply {
  constructor(readonly contentType: string, readonly body: string) {}
}

export class ApiServer {
  private readonly server: Server;
  private readonly routes = new Map<string, Handler>();

  constructor(private readonly address: ApiAddress) {
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  /** `GET /status`, say. */
  on(methodAndPath: string, handler: Handler): this {
    this.routes.set(methodAndPath, handler);
    return this;
  }

  async listen(): Promise<void> {
    if (this.address.kind === 'unix') await unlink(this.address.path).catch(() => {});
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', (error: NodeJS.ErrnoException) => reject(new ListenError(`API cannot listen on ${formatApiAddress(this.address)}`, error)));
      if (this.address.kind === 'unix') this.server.listen(this.address.path, resolve);
      else this.server.listen(this.address.port, this.address.host, resolve);
    });
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // Idle keep-alive connections (a CLI, a scraper) would hold close() for seconds.
    this.server.closeAllConnections();
    await closed;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    const handler = this.routes.get(`${req.method} ${path}`);
    try {
      if (!handler) return reply(res, 404, { error: `no such endpoint: ${req.method} ${path}` });
      const result = await handler(req);
      if (result instanceof RawReply) {
        res.writeHead(200, { 'content-type': result.contentType });
        res.end(result.body);
      } else {
        reply(res, 200, result);
      }
    } catch (error) {
      // A request the daemon cannot honour as asked is the caller's to fix; anything else is ours.
      reply(res, error instanceof UserError ? 400 : 500, { error: (error as Error).message });
    }
  }
}

/** A request that is not what the endpoint takes: answered 400. */
export class BadRequest extends UserError {}

/** Reads a small JSON object body (at most 64 KB); its fields are the handler's to check. */
export async function readJsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 65536) throw new BadRequest('request body too large');
    chunks.push(chunk as Buffer);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new BadRequest('request body is not JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new BadRequest('request body is not a JSON object');
  return body as Record<string, unknown>;
}

/** A string field a request must have. */
export function requiredString(body: Record<string, unknown>, field: string): string {
  const value = body[field];
  if (typeof value !== 'string' || value === '') throw new BadRequest(`${field} must be a non-empty string`);
  return value;
}

/** A string field a request may have. */
export function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new BadRequest(`${field} must be a string`);
  return value;
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body, null, 2) + '\n');
}
