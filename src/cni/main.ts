// The CNI plugin's entry point (installed as `tsoverlay` in the CNI bin
// dir): one command per run, the config on stdin, the answer on stdout. It
// loads neither the addon nor the daemon: a plugin's start-up is its cost,
// so it is also bundled into one CommonJS file (`npm run build:cni`), which
// Node loads in ≈ 3 ms where the ES module graph took ≈ 37.
import { readFileSync } from 'node:fs';
import { add, check, del, gc, status, version } from './commands.js';
import { CniCode, CniError } from './cniError.js';
import { isSupported, LATEST } from './cniVersions.js';
import { parseInvocation } from './invocation.js';
import { parsePluginConfig } from './pluginConfig.js';

let stdin = '';

async function run(): Promise<string> {
  const invocation = parseInvocation(process.env);
  if (invocation.command === 'VERSION') return version();
  stdin = readFileSync(0, 'utf8');
  const config = parsePluginConfig(stdin);
  switch (invocation.command) {
    case 'ADD': return add(config, invocation.call);
    case 'DEL': return del(config, invocation.call);
    case 'CHECK': return check(config, invocation.call);
    case 'STATUS': return status(config);
    case 'GC': return gc(config, invocation.path);
  }
}

/** The version errors are reported in: the config's, when it got that far. */
function errorVersion(): string {
  try {
    const v = (JSON.parse(stdin) as { cniVersion?: unknown }).cniVersion;
    return typeof v === 'string' && isSupported(v) ? v : LATEST;
  } catch {
    return LATEST;
  }
}

// No top-level await: the plugin ships as one CommonJS bundle (bin/tsoverlay-cni.cjs).
run().then(
  (out) => {
    if (out) process.stdout.write(`${out}\n`);
  },
  (error: unknown) => {
    const e = error instanceof CniError ? error : new CniError(CniCode.ioFailure, (error as Error).message ?? String(error));
    process.stdout.write(`${e.toJson(errorVersion())}\n`);
    process.exitCode = 1;
  },
);
