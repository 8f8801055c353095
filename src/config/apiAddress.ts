// Where the HTTP API listens: a TCP address (loopback by default) or a unix socket path.

export type ApiAddress = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

export const DEFAULT_API = '127.0.0.1:6784';

export function parseApiAddress(text: string): ApiAddress {
  if (text.startsWith('unix:')) return { kind: 'unix', path: text.slice(5) };
  if (text.startsWith('/') || text.startsWith('.')) return { kind: 'unix', path: text };
  const colon = text.lastIndexOf(':');
  const port = Number(text.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`bad API address ${JSON.stringify(text)} (want HOST:PORT or a socket path)`);
  }
  return { kind: 'tcp', host: text.slice(0, colon).replace(/^\[|\]$/g, ''), port };
}

export function formatApiAddress(a: ApiAddress): string {
  return a.kind === 'unix' ? a.path : `${a.host}:${a.port}`;
}
