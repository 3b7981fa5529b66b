// Documented exit codes (sysexits where one fits). The README lists them.
export const EXIT = {
  OK: 0,
  /** Runtime failure: kernel rejection, readback mismatch. */
  FAILURE: 1,
  /** `diff`: the live table differs from the candidate. */
  CHANGES: 2,
  /** `apply`: the lock-out guard found protected connections the candidate would drop (--force overrides). */
  LOCKOUT: 3,
  USAGE: 64,
  BAD_CONFIG: 65,
  NFT_MISSING: 69,
  NO_PERMISSION: 77,
} as const;

/** An error the user can cause: printed as one line, exits with its code, never a stack trace. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}
