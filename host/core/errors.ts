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

/** Longest message text we print from a file's content or a library's error (a flipped count once made 1 MB). */
const MAX_MESSAGE = 300;

/** Longest whole error message the CLI and the worker print. */
export const MAX_ERROR_CHARS = 2000;

/** `x` as text for a message: never "[object Object]", cut to `max` characters with a note of what was cut. */
export function shortText(x: unknown, max = MAX_MESSAGE): string {
  let s: string;
  if (typeof x === 'string') s = x;
  else if (x instanceof Error) s = x.message;
  else {
    try {
      s = JSON.stringify(x) ?? String(x);
    } catch {
      s = String(x);
    }
  }
  return s.length <= max ? s : `${s.slice(0, max)}… (${s.length - max} more characters cut)`;
}

/** System error codes that mean "the disk or the file system refused", with what to tell the user. */
const SYSTEM_ERRORS: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'the file system is read-only',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EIO: 'input/output error',
  EMFILE: 'too many open files',
  ENAMETOOLONG: 'file name too long',
  ELOOP: 'too many levels of symbolic links',
  ENOENT: 'no such file or folder',
  ENOTDIR: 'a part of the path is not a folder',
  EISDIR: 'is a folder',
  EFBIG: 'file too large',
};

/**
 * An error any code may throw turned into what a user reads: a DpmError stays; a system error (ENOSPC …) becomes a
 * DpmError naming `where` (or the error's own path); a stack overflow or an allocation failure becomes a DpmError
 * that says the input is too deep or too large. Anything else is returned as it is (an internal error).
 */
export function asUserError(err: unknown, where?: string): unknown {
  if (err instanceof DpmError || err instanceof CanceledError) return err;
  const e = err as NodeJS.ErrnoException | undefined;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const what = code ? SYSTEM_ERRORS[code] : undefined;
  if (what) {
    const path = e?.path ?? where;
    return new DpmError(path ? `${path}: ${what} (${code})` : `${what} (${code})`);
  }
  if (code === 'ERR_INVALID_ARG_VALUE' || code === 'ERR_INVALID_ARG_TYPE') {
    if (/null bytes|\\0|NUL/i.test(e?.message ?? ''))
      return new DpmError(`a path contains a NUL byte: ${shortText(e?.message)}`);
  }
  if (err instanceof RangeError && /call stack/i.test(err.message)) {
    return new DpmError(`${where ? `${where}: ` : ''}input nested too deeply to read (stack exhausted)`);
  }
  if (
    err instanceof RangeError &&
    /allocation|Array buffer|Invalid typed array length|Invalid array length/i.test(err.message)
  ) {
    return new DpmError(
      `${where ? `${where}: ` : ''}input declares more data than can be held (${shortText(err.message)})`,
    );
  }
  return err;
}
