// The shipped systemd units pass `systemd-analyze verify`, installed as an admin would install them.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandError, run } from '../../src/lab/shell.js';

const ROOT = resolve(import.meta.dirname, '../..');

describe('systemd units', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsolab-systemd-'));
    // As if installed: this checkout's command stands where the package puts /usr/bin/tsoverlay.
    writeFileSync(join(dir, 'tsoverlay.service'), readFileSync(join(ROOT, 'systemd/tsoverlay.service'), 'utf8').replaceAll('/usr/bin/tsoverlay', join(ROOT, 'bin/tsoverlay')));
    for (const unit of ['docker.service', 'docker.socket']) copyFileSync(`/lib/systemd/system/${unit}`, join(dir, unit));
    mkdirSync(join(dir, 'docker.service.d'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const verify = (unit: string) => run('env', [`SYSTEMD_UNIT_PATH=${dir}:`, 'systemd-analyze', 'verify', unit]);
  const installDropIn = (text: string) => writeFileSync(join(dir, 'docker.service.d', 'tsoverlay.conf'), text);
  const dropIn = readFileSync(join(ROOT, 'systemd/docker.service.d/tsoverlay.conf'), 'utf8');

  it('tsoverlay.service verifies', async () => {
    installDropIn(dropIn);
    await expect(verify(join(dir, 'tsoverlay.service'))).resolves.toBeDefined();
  });

  it('docker.service with the tsoverlay drop-in verifies, ordered after tsoverlay and fed docker.env', async () => {
    installDropIn(dropIn);
    await expect(verify('docker.service')).resolves.toBeDefined();
    expect(dropIn).toMatch(/^After=tsoverlay\.service$/m);
    expect(dropIn).toMatch(/^EnvironmentFile=\/run\/tsoverlay\/docker\.env$/m);
    expect(dropIn).toMatch(/^ExecStart=\/usr\/sbin\/dockerd .*\$DOCKER_OPTS$/m);
  });

  it('the check reads the drop-in: a broken one fails it', async () => {
    installDropIn(dropIn.replace('/usr/sbin/dockerd', '/nonexistent/dockerd'));
    const error = await verify('docker.service').catch((e: CommandError) => e);
    expect(error).toBeInstanceOf(CommandError);
    expect((error as CommandError).stderr).toMatch(/nonexistent\/dockerd is not executable/);
  });
});
