// Errors a user can act on. The CLI prints their message alone (no stack) and exits non-zero.

/** Bad input or a failed precondition: the message names the file or parameter and what is wrong. */
export class DpmError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = 'DpmError';
  }
}

/** The user (or the host, by closing stdin) cancelled the job. Partial outputs are removed. */
export class CanceledError extends Error {
  readonly exitCode = 130;
  constructor(message = 'canceled') {
    super(message);
    this.name = 'CanceledError';
  }
}

export function exitCodeOf(err: unknown): number {
  if (err instanceof DpmError || err instanceof CanceledError) return err.exitCode;
  return 1;
}
