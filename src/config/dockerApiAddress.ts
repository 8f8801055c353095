// --docker-api: where dockerd's API answers, as Docker writes it
// (unix:///var/run/docker.sock, tcp://HOST:PORT).
import { UserError } from '../errors.js';

export type DockerApiAddress = { kind: 'unix'; socketPath: string } | { kind: 'tcp'; host: string; port: number };

export const DEFAULT_DOCKER_API = 'unix:///var/run/docker.sock';

export function parseDockerApiAddress(text: string): DockerApiAddress {
  const unix = /^unix:\/\/(\/.+)$/.exec(text);
  if (unix) return { kind: 'unix', socketPath: unix[1] };
  const tcp = /^(?:tcp|http):\/\/([^:/]+):(\d+)\/?$/.exec(text);
  if (tcp && Number(tcp[2]) >= 1 && Number(tcp[2]) <= 65535) return { kind: 'tcp', host: tcp[1], port: Number(tcp[2]) };
  throw new UserError(`${JSON.stringify(text)}: want unix:///PATH or tcp://HOST:PORT`);
}

export function formatDockerApiAddress(a: DockerApiAddress): string {
  return a.kind === 'unix' ? `unix://${a.socketPath}` : `tcp://${a.host}:${a.port}`;
}
