// The Debian package: built by scripts/package from a clean clone, checked
// with dpkg-deb, installed with dpkg, run from the installed files (version,
// the CNI plugin, a one-host launch, the unit verified), removed and purged
// leaving nothing. What setup had put at /opt/cni/bin/tsoverlay is put back.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '../../src/lab/lab.js';

const ROOT = resolve(import.meta.dirname, '../..');
const VERSION = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;
const CNI_LINK = '/opt/cni/bin/tsoverlay';
const OURS = ['/usr/bin/tsoverlay', '/usr/lib/tsoverlay', '/lib/systemd/system/tsoverlay.service', '/lib/systemd/system/docker.service.d/tsoverlay.conf', CNI_LINK, '/etc/default/tsoverlay', '/usr/share/doc/tsoverlay'];

const sh = (cmd: string, args: string[], cwd?: string) => spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 120_000 });
const installed = () => sh('dpkg-query', ['-W', '-f=${Status}', 'tsoverlay']).stdout.includes('install ok installed');
const purge = () => sh('dpkg', ['--purge', 'tsoverlay']);

/** A clone of HEAD with this tree's build in it, as scripts/setup leaves a clone. */
function builtClone(dir: string, built: boolean): string {
  execFileSync('git', ['clone', '-q', ROOT, dir]);
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  if (built) {
    cpSync(join(ROOT, 'dist'), join(dir, 'dist'), { recursive: true });
    mkdirSync(join(dir, 'native-bindings/build/Release'), { recursive: true });
    cpSync(join(ROOT, 'native-bindings/build/Release/tsoverlay_native.node'), join(dir, 'native-bindings/build/Release/tsoverlay_native.node'));
  }
  return dir;
}

describe('the Debian package', () => {
  let work: string;
  let clone: string;
  let deb: string;
  let cniLinkBefore: string | null;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'tsolab-deb-'));
    clone = builtClone(join(work, 'clone'), true);
    cniLinkBefore = existsSync(CNI_LINK) ? readlinkSync(CNI_LINK) : null;
    if (installed()) purge();
  }, 120_000);
  afterAll(() => {
    if (installed()) purge();
    if (cniLinkBefore !== null && !existsSync(CNI_LINK)) {
      mkdirSync('/opt/cni/bin', { recursive: true });
      symlinkSync(cniLinkBefore, CNI_LINK);
    }
    rmSync(work, { recursive: true, force: true });
  });

  it('refuses an unbuilt tree and a dirty one, in one line', () => {
    const unbuiltClone = builtClone(join(work, 'unbuilt'), false);
    const unbuilt = sh(join(unbuiltClone, 'scripts/package'), [work], unbuiltClone);
    expect(unbuilt.status).toBe(2);
    expect(unbuilt.stderr).toBe('scripts/package: not built (dist/bundle/main.js is missing): run scripts/setup\n');
    writeFileSync(join(clone, 'stray.txt'), 'not committed\n');
    const dirty = sh(join(clone, 'scripts/package'), [work], clone);
    rmSync(join(clone, 'stray.txt'));
    expect(dirty.status).toBe(2);
    expect(dirty.stderr).toBe('scripts/package: the tree has uncommitted changes: commit or stash them first\n');
  });

  it('builds tsoverlay_<version>_amd64.deb with the control file and contents a Debian daemon has', () => {
    const r = sh(join(clone, 'scripts/package'), [work], clone);
    expect(r.status, r.stderr).toBe(0);
    deb = r.stdout.trim();
    expect(deb).toBe(join(work, `tsoverlay_${VERSION}_amd64.deb`));
    const field = (name: string) => sh('dpkg-deb', ['-f', deb, name]).stdout.trim();
    expect([field('Package'), field('Version'), field('Architecture')]).toEqual(['tsoverlay', VERSION, 'amd64']);
    expect(field('Depends')).toMatch(/nodejs \(>= 20\).*libsodium23.*iproute2/);
    expect(sh('dpkg-deb', ['-I', deb, 'conffiles']).stdout.trim()).toBe('/etc/default/tsoverlay');
    const contents = sh('dpkg-deb', ['-c', deb]).stdout;
    for (const path of [
      './usr/bin/tsoverlay -> ../lib/tsoverlay/bin/tsoverlay', './usr/lib/tsoverlay/dist/bundle/main.js', './usr/lib/tsoverlay/dist/cni/plugin.cjs',
      './usr/lib/tsoverlay/native-bindings/build/Release/tsoverlay_native.node', './usr/lib/tsoverlay/node_modules/sodium-native/', './usr/lib/tsoverlay/node_modules/pino/',
      './lib/systemd/system/tsoverlay.service', './lib/systemd/system/docker.service.d/tsoverlay.conf', './etc/default/tsoverlay',
      './opt/cni/bin/tsoverlay -> /usr/lib/tsoverlay/bin/tsoverlay-cni.cjs',
    ]) expect(contents).toContain(path);
    // Only what runs: no dev packages, sources or tests, one platform's libsodium.
    for (const absent of ['node_modules/vitest/', 'node_modules/typescript/', 'node_modules/esbuild/', './usr/lib/tsoverlay/src/', './usr/lib/tsoverlay/test/', 'prebuilds/darwin']) expect(contents).not.toContain(absent);
    expect(contents).toMatch(/^drwxr-xr-x root\/root +0 \S+ \S+ \.\/$/m);
    expect(sh('dpkg-deb', ['-I', deb, 'control']).stdout).toMatch(/^Maintainer: .+ <.+@.+>$/m);
  });

  it('installs, and runs from the installed files', async () => {
    const r = sh('dpkg', ['-i', deb]);
    expect(r.status, r.stderr).toBe(0);
    expect(installed()).toBe(true);
    expect(sh('/usr/bin/tsoverlay', ['version']).stdout).toBe(`tsoverlay ${VERSION}\n`);
    expect(sh('/usr/bin/tsoverlay', ['launch', '--help']).stdout).toContain('--etcd-password-file FILE');
    const cni = spawnSync(CNI_LINK, { env: { CNI_COMMAND: 'VERSION', PATH: process.env.PATH }, encoding: 'utf8' });
    expect(JSON.parse(cni.stdout).supportedVersions).toContain('1.1.0');
    const verify = sh('systemd-analyze', ['verify', '/lib/systemd/system/tsoverlay.service']);
    expect(verify.status, verify.stderr).toBe(0);
    expect(readFileSync('/lib/systemd/system/tsoverlay.service', 'utf8')).toMatch(/^ExecStart=\/usr\/bin\/tsoverlay launch \$TSOVERLAY_OPTS$/m);

    const lab = await Lab.create();
    try {
      const host = await lab.addHost('pkg');
      const daemon = await lab.startDaemon(host, ['--backend', 'udp', '--network', '10.95.0.0/16', '--subnet', '10.95.1.0/24', '--public-ip', host.ip], undefined, ['/usr/bin/tsoverlay']);
      expect((await daemon.status()).subnet).toBe('10.95.1.0/24');
      await daemon.stop();
      // Options as a half-written /etc/default/tsoverlay would give them: one line, exit 2, nothing made.
      const half = await lab.exec(host.ns, 'sh', ['-c', '/usr/bin/tsoverlay launch --etcd-endpoints 2>&1; echo "exit $?"']);
      expect(half).toBe('tsoverlay: --etcd-endpoints needs a value\nexit 2\n');
      expect(await lab.exec(host.ns, 'ip', ['-o', 'link'])).not.toContain('tso0');
    } finally {
      await lab.cleanup();
    }
  }, 60_000);

  it('is removed, and purged, leaving nothing behind', () => {
    expect(sh('dpkg', ['--remove', 'tsoverlay']).status).toBe(0);
    expect(OURS.filter((p) => existsSync(p))).toEqual(['/etc/default/tsoverlay']); // a conffile stays until purge
    expect(purge().status).toBe(0);
    expect(OURS.filter((p) => existsSync(p))).toEqual([]);
    expect(sh('dpkg-query', ['-W', 'tsoverlay']).status).not.toBe(0);
  });
});
