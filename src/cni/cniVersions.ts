// The CNI spec versions this plugin speaks, and what its delegates get.

export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export type CniVersion = (typeof SUPPORTED_VERSIONS)[number];
export const LATEST: CniVersion = '1.1.0';

export function isSupported(v: string): v is CniVersion {
  return (SUPPORTED_VERSIONS as readonly string[]).includes(v);
}

/**
 * The version the delegates (bridge, host-local) are called with. 1.1.0 adds
 * only the STATUS and GC verbs, which this plugin answers itself, so its
 * results have 1.0.0's shape, and the reference plugins shipped by Debian
 * stop at 1.0.0.
 */
export function delegateVersion(v: CniVersion): CniVersion {
  return v === '1.1.0' ? '1.0.0' : v;
}

/** CHECK came with 0.4.0. */
export function hasCheck(v: CniVersion): boolean {
  return v !== '0.3.0' && v !== '0.3.1';
}
