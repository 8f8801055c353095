// The API server's answers: 400 for what the caller must fix, 404 for no such
// endpoint, 500 only for the daemon's own faults.
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiServer, readJsonBody, requiredString } from '../../src/api/server.js';
import { parseIPv4 } from '../../src/net/ipv4.js';

const dir = mkdtempSync(join(tmpdir(), 'tso-api-'));
const socketPath = join(dir, 'api.sock');
const server = new ApiServer({ kind: 'unix', path: socketPath })
  .on('POST /echo', async (req) => {
    const body = await readJsonBody(req);
    return { ip: parseIPv4(requiredString(body, 'ip')) };
  })
  .on('GET /broken', () => {
    throw new Error('a bug');
  });

function call(method: string, path: string, body?: string): Promise<{ status: number; body: { error?: string } }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('ApiServer', () => {
  beforeAll(() => server.listen());
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers a good request', async () => {
    expect(await call('POST', '/echo', '{"ip":"10.0.0.1"}')).toEqual({ status: 200, body: { ip: 0x0a000001 } });
  });

  it.each([
    ['not JSON', 'ip=10.0.0.1', /not JSON/],
    ['not an object', '[1]', /not a JSON object/],
    ['a missing field', '{}', /ip must be a non-empty string/],
    ['a field of the wrong type', '{"ip":7}', /ip must be a non-empty string/],
    ['a value the domain refuses', '{"ip":"10.0.0.300"}', /not an IPv4 address/],
  ])('answers 400 for %s, naming the problem', async (_what, body, message) => {
    const answer = await call('POST', '/echo', body);
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatch(message);
  });

  it('answers 404 for no such endpoint and 500 for its own faults', async () => {
    expect((await call('GET', '/nothing')).status).toBe(404);
    expect(await call('GET', '/broken')).toEqual({ status: 500, body: { error: 'a bug' } });
  });
});
