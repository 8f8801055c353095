// The command line as a new user meets it: `--help` for every command from
// the table that parses it, and a tree that is not (fully) built: commands
// that need no native code run, the others say in one line what to do.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commands } from '../../src/cli/commands.js';
import { launchCommand } from '../../src/config/launchConfig.js';

const ROOT = resolve(import.meta.dirname, '../..');
const STATIC = ['--backend', 'udp', '--network', '10.1.0.0/16', '--subnet', '10.1.1.0/24', '--public-ip', '10.9.9.9'];

function tsoverlay(tree: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [join(tree, 'bin', 'tsoverlay'), ...args], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A copy of the built tree without some of its parts. */
function partialTree(parts: { dist: boolean; addon: boolean; sodium: boolean }): string {
  const tree = mkdtempSync(join(tmpdir(), 'tsolab-tree-'));
  cpSync(join(ROOT, 'bin'), join(tree, 'bin'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(tree, 'package.json'));
  if (parts.dist) cpSync(join(ROOT, 'dist'), join(tree, 'dist'), { recursive: true });
  if (parts.addon) cpSync(join(ROOT, 'native-bindings', 'build'), join(tree, 'native-bindings', 'build'), { recursive: true });
  mkdirSync(join(tree, 'node_modules'));
  for (const m of readdirSync(join(ROOT, 'node_modules'))) {
    if (m !== 'sodium-native' || parts.sodium) symlinkSync(join(ROOT, 'node_modules', m), join(tree, 'node_modules', m));
  }
  return tree;
}

describe('tsoverlay <command> --help', () => {
  it.each([launchCommand, ...Object.values(commands)].map((c) => [c.name, c] as const))('%s --help lists its options and defaults', (name, spec) => {
    const r = tsoverlay(ROOT, name, '--help');
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith(`usage: tsoverlay ${name}`)).toBe(true);
    for (const [option, o] of Object.entries(spec.options)) {
      expect(r.stdout).toContain(`--${option}`);
      if (o.default) expect(r.stdout).toContain(`[default: ${o.default}]`);
    }
  });

  it('an unknown option names the help that lists them', () => {
    const r = tsoverlay(ROOT, 'status', '--jsn');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("tsoverlay: unknown option --jsn ('tsoverlay status --help' lists them)\n");
  });
});

describe('a tree that is not fully built', () => {
  const trees: string[] = [];
  const tree = (parts: { dist: boolean; addon: boolean; sodium: boolean }) => {
    trees.push(partialTree(parts));
    return trees[trees.length - 1];
  };
  let noNative: string;

  beforeAll(() => {
    noNative = tree({ dist: true, addon: false, sodium: false });
  });
  afterAll(() => {
    for (const t of trees) rmSync(t, { recursive: true, force: true });
  });

  it('runs help, version, status and docker-opts without the addon or sodium-native', () => {
    expect(tsoverlay(noNative, '--help')).toMatchObject({ code: 0 });
    expect(tsoverlay(noNative, 'launch', '--help')).toMatchObject({ code: 0 });
    expect(tsoverlay(noNative, 'version').stdout).toMatch(/^tsoverlay \d+\.\d+\.\d+\n$/);
    // These fail for their own reasons, in one line, not for a missing addon.
    expect(tsoverlay(noNative, 'docker-opts', '--run-dir', '/nonexistent')).toMatchObject({ code: 2, stderr: 'tsoverlay: no subnet.env in /nonexistent: is tsoverlay running (with this --run-dir)?\n' });
    expect(tsoverlay(noNative, 'status', '--api', '/nonexistent.sock')).toMatchObject({ code: 2, stderr: "tsoverlay: cannot reach the daemon's API: is tsoverlay running?\n" });
  });

  it.each([
    ['the addon', { dist: true, addon: false, sodium: true }, /tsoverlay_native\.node/],
    ['sodium-native', { dist: true, addon: true, sodium: false }, /sodium-native/],
  ] as const)('launch without %s: one line saying to run scripts/setup, exit 2', (_what, parts, names) => {
    const r = tsoverlay(tree(parts), 'launch', ...STATIC);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^tsoverlay: tsoverlay is not \(fully\) built: .*; run scripts\/setup\n$/);
    expect(r.stderr).toMatch(names);
  });

  it('no dist at all: one line, exit 2, for every command', () => {
    const bare = tree({ dist: false, addon: false, sodium: false });
    for (const args of [['version'], ['--help'], ['launch', ...STATIC]]) {
      const r = tsoverlay(bare, ...args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^tsoverlay: not built \(.*\): run scripts\/setup\n$/);
    }
  });
});
