// A CNI error: the spec's well-known code and a message naming the problem,
// printed as the error JSON the runtime reads from stdout.

/** The spec's well-known error codes (CNI 1.1.0, "Error codes"). */
export const CniCode = {
  incompatibleVersion: 1,
  unsupportedField: 2,
  unknownContainer: 3,
  invalidEnvironment: 4,
  ioFailure: 5,
  decodeFailure: 6,
  invalidConfig: 7,
  tryAgainLater: 11,
  notAvailable: 50,
  limitedConnectivity: 51,
} as const;

export class CniError extends Error {
  constructor(readonly code: number, message: string, readonly details?: string) {
    super(message);
  }

  toJson(cniVersion: string): string {
    return JSON.stringify({ cniVersion, code: this.code, msg: this.message, ...(this.details ? { details: this.details } : {}) });
  }
}
