// Checks on files we are about to read. A path named inside another file (GEOLOCATION X_DATASET, a VRT's
// SourceFilename) is untrusted: /dev/zero never ends, a FIFO blocks forever, a folder is not data.
import { statSync } from 'node:fs';
import { totalmem } from 'node:os';
import { DpmError, shortText } from '../core/errors.js';

/**
 * Throws a DpmError unless `path` is a regular file (symbolic links followed); returns its size. `what` says where
 * the path came from, e.g. "data file named by a.vrt".
 */
export function regularFileSize(path: string, what = 'input'): number {
  if (path.includes('\0')) throw new DpmError(`${shortText(path, 120)}: ${what}: the path contains a NUL byte`);
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new DpmError(`${path}: cannot read ${what} (${code === 'ENOENT' ? 'no such file' : code})`);
  }
  if (!st.isFile()) {
    const kind = st.isDirectory()
      ? 'a folder'
      : st.isFIFO()
        ? 'a pipe'
        : st.isCharacterDevice() || st.isBlockDevice()
          ? 'a device'
          : st.isSocket()
            ? 'a socket'
            : 'not a regular file';
    throw new DpmError(`${path}: ${what} is ${kind}, not a regular file`);
  }
  return st.size;
}

/** Bytes a process may reasonably hold for one decoded input: half the machine's memory. */
export function memoryBudget(): number {
  return totalmem() / 2;
}
