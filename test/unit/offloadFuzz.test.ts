// The addon's offload byte kernels (segmenting, checksums, gluing) fuzzed in
// C under AddressSanitizer and UBSan: native-bindings/fuzz/offloadFuzz.c.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const SOURCE = fileURLToPath(new URL('../../native-bindings/fuzz/offloadFuzz.c', import.meta.url));

it('cuts, glues and checksums 30,000 random and mutated TCP and UDP packets over IPv4 and IPv6 without a read or write out of bounds, round-trips, and glues no segment whose checksum fails', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tso-fuzz-'));
  try {
    const binary = join(dir, 'offloadFuzz');
    execFileSync('gcc', ['-O1', '-g', '-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-std=gnu11', SOURCE, '-o', binary]);
    const seed = String(Date.now() % 1_000_000);
    const out = JSON.parse(execFileSync(binary, ['30000', seed], { encoding: 'utf8' }));
    process.stdout.write(`offload fuzz (seed ${seed}): ${JSON.stringify(out)}\n`);
    expect(out.cut).toBeGreaterThan(20_000);
    expect(out.cutIPv6).toBeGreaterThan(8_000);
    expect(out.cutUDP).toBeGreaterThan(6_000);
    expect(out.glued).toBeGreaterThan(10_000);
    expect(out.roundTrips).toBeGreaterThan(10_000);
    expect(out.checkedRuns).toBeGreaterThan(10_000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
