// A container image for labs that cannot pull one: busybox-static with a few
// applets, as a rootfs tarball for `docker import` / `podman import`.
import { copyFileSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './shell.js';

export const LAB_IMAGE = 'tsolab/busybox';
const BUSYBOX_APPLETS = ['sh', 'ping', 'wget', 'httpd', 'sleep', 'md5sum', 'sha256sum', 'dd', 'cat', 'ls', 'ip', 'nslookup'];

/** Builds `<dir>/rootfs.tar`; returns its path. */
export async function busyboxRootfs(dir: string): Promise<string> {
  const rootfs = join(dir, 'rootfs');
  for (const d of ['bin', 'tmp', 'www']) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync('/bin/busybox', join(rootfs, 'bin', 'busybox'));
  for (const applet of BUSYBOX_APPLETS) symlinkSync('busybox', join(rootfs, 'bin', applet));
  await run('tar', ['-C', rootfs, '-cf', `${rootfs}.tar`, '.']);
  return `${rootfs}.tar`;
}
