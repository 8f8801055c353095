// Real Docker on two hosts: each dockerd takes its bridge subnet and MTU from
// tsoverlay's docker.env (etcd mode), and containers talk across the overlay.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLabEtcd } from '../../src/lab/etcdHosts.js';
import { Lab, type LabHost } from '../../src/lab/lab.js';
import { LabDocker } from '../../src/lab/labDocker.js';
import type { LabDaemon } from '../../src/lab/labDaemon.js';
import { eventually } from '../helpers/eventually.js';
import { LAB_IMAGE } from '../../src/lab/busyboxImage.js';

interface DockerHost {
  host: LabHost;
  daemon: LabDaemon;
  docker: LabDocker;
  opts: string[];
  ip: string;
}

describe('docker with tsoverlay\'s --bip and --mtu', () => {
  let lab: Lab;
  let a: DockerHost;
  let b: DockerHost;

  beforeAll(async () => {
    lab = await Lab.create();
    const etcd = await startLabEtcd(lab, { Network: '10.90.0.0/16', Backend: { Type: 'vxlan' } });
    const side = async (name: string): Promise<DockerHost> => {
      const host = await lab.addHost(name);
      const docker = new LabDocker(lab, host);
      const daemon = await lab.startDaemon(host, ['--public-ip', host.ip, '--etcd-endpoints', etcd.endpoint, '--docker-api', `unix://${docker.socket}`]);
      const opts = await docker.start(join(daemon.runDir, 'docker.env'));
      await docker.importImage();
      const ip = await docker.runContainer('web', 'httpd', '-f', '-p', '8080', '-h', '/www');
      return { host, daemon, docker, opts, ip };
    };
    a = await side('a');
    b = await side('b');
  }, 180_000);
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('starts dockerd with the leased subnet: docker0 holds .1, containers get addresses in it, MTU 1450', async () => {
    for (const side of [a, b]) {
      const status = await side.daemon.status();
      const bip = status.subnet.replace(/0\/24$/, '1/24');
      expect(side.opts).toEqual([`--bip=${bip}`, '--mtu=1450', '--ip-masq=true']);
      expect(await lab.exec(side.host.ns, 'ip', ['-4', '-o', 'addr', 'show', 'docker0'])).toContain(bip);
      expect(side.ip.startsWith(status.subnet.replace(/0\/24$/, ''))).toBe(true);
    }
    expect(await a.docker.exec('web', 'cat', '/sys/class/net/eth0/mtu')).toBe('1450\n');
  });

  it('pings container to container across the overlay', async () => {
    expect(await a.docker.exec('web', 'ping', '-c', '3', b.ip)).toMatch(/3 packets received/);
    expect(await b.docker.exec('web', 'ping', '-c', '3', a.ip)).toMatch(/3 packets received/);
  });

  it('transfers 10 MB each way over HTTP with matching checksums', async () => {
    for (const [from, to] of [[a, b], [b, a]]) {
      await from.docker.exec('web', 'dd', 'if=/dev/urandom', 'of=/www/blob', 'bs=1048576', 'count=10');
      const sent = (await from.docker.exec('web', 'md5sum', '/www/blob')).split(' ')[0];
      await to.docker.exec('web', 'wget', '-q', '-O', '/tmp/blob', `http://${from.ip}:8080/blob`);
      const received = (await to.docker.exec('web', 'md5sum', '/tmp/blob')).split(' ')[0];
      expect(received).toBe(sent);
    }
  });

  /** What a host's DNS answers for a name, sorted. */
  async function resolve(side: DockerHost, name: string): Promise<string[]> {
    const [address, port] = (await side.daemon.status()).dns!.listen.split(':');
    const out = await lab.exec(side.host.ns, 'dig', [`@${address}`, '-p', port, '+tries=1', '+time=3', '+short', name]);
    return out.trim().split('\n').filter(Boolean).sort();
  }

  it('names containers on docker0 by themselves (--docker-api): both webs under one name, on both hosts', async () => {
    for (const side of [a, b]) await eventually(async () => expect(await resolve(side, 'web.weave.local')).toEqual([a.ip, b.ip].sort()), 10_000);
  });

  it('follows a dockerd that restarts; a stopped container loses its name everywhere', async () => {
    await b.docker.stopDaemon();
    await b.docker.start(join(b.daemon.runDir, 'docker.env'));
    // Without --live-restore the containers stopped with dockerd: web on b is gone from the name.
    for (const side of [a, b]) await eventually(async () => expect(await resolve(side, 'web.weave.local')).toEqual([a.ip]), 10_000);
    await b.docker.docker('run', '-d', '--name', 'late', '--hostname', 'late-host.weave.local', LAB_IMAGE, 'sleep', '600');
    const ip = (await b.docker.docker('inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'late')).trim();
    for (const side of [a, b]) {
      await eventually(async () => expect(await resolve(side, 'late.weave.local')).toEqual([ip]), 10_000);
      await eventually(async () => expect(await resolve(side, 'late-host.weave.local')).toEqual([ip]), 10_000);
    }
    expect((await b.daemon.status()).docker!.names).toMatchObject({ connected: true, reconnects: 1 });
    await b.docker.docker('stop', '-t', '0', 'late');
    for (const side of [a, b]) await eventually(async () => expect(await resolve(side, 'late.weave.local')).toEqual([]), 10_000);
  });
});
