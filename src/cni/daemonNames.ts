// Container names in the daemon's DNS, through its API (POST /dns/add and
// /dns/remove), which spreads them to every host. The API client is loaded
// only when a name is to be set: most calls need no HTTP at all.
import { parseApiAddress } from '../config/apiAddress.js';
import { CniCode, CniError } from './cniError.js';

async function post(api: string, path: string, body: unknown): Promise<unknown> {
  const { apiPost } = await import('../api/client.js');
  try {
    return await apiPost(parseApiAddress(api), path, body);
  } catch (error) {
    throw new CniError(CniCode.ioFailure, `the tsoverlay daemon's API (${api}) refused ${path}: ${(error as Error).message}`);
  }
}

export async function addNames(api: string, name: string, addresses: string[]): Promise<void> {
  for (const ip of addresses) await post(api, '/dns/add', { ip, name });
}

export async function removeNames(api: string, name: string, addresses: string[]): Promise<void> {
  for (const ip of addresses) await post(api, '/dns/remove', { ip, name });
}

export async function lookupName(api: string, name: string): Promise<string[]> {
  const answer = (await post(api, '/dns/lookup', { name })) as { ips?: unknown };
  return Array.isArray(answer.ips) ? answer.ips.filter((ip): ip is string => typeof ip === 'string') : [];
}
