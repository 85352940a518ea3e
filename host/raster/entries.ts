// Folder listings that follow symbolic links (issue 14): a folder of links to dated files (or to product folders)
// is an input like any other. `Dirent.isFile()` is false for a link, so every reader lists through here.
import { readdirSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DpmError } from '../core/errors.js';

export interface Entry {
  name: string;
  path: string;
  /** what the entry is after following links */
  kind: 'file' | 'folder';
}

/** What `path` is after following links; a link that points nowhere is a DpmError naming it and its target. */
export function entryKind(path: string): 'file' | 'folder' | 'other' {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    let target = '';
    try {
      target = readlinkSync(path);
    } catch {
      throw new DpmError(code === 'ENOENT' ? `${path}: no such file or folder` : `${path}: cannot read (${code})`);
    }
    throw new DpmError(`${path}: symbolic link to '${target}', which does not exist (${code})`);
  }
  return st.isFile() ? 'file' : st.isDirectory() ? 'folder' : 'other';
}

/** The files and folders of `dir`, links followed, sorted by name (sockets, devices … left out). */
export function listEntries(dir: string): Entry[] {
  const out: Entry[] = [];
  for (const name of readdirSync(dir).sort((a, b) => a.localeCompare(b))) {
    const path = join(dir, name);
    const kind = entryKind(path);
    if (kind !== 'other') out.push({ name, path, kind });
  }
  return out;
}
