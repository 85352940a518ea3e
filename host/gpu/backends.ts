// What Dawn needs from the process before it starts, and which of its backends can succeed here, so that a machine
// without a GPU driver sees neither a failed probe's noise nor a hang:
// - Mesa's EGL (the OpenGL ES backend on llvmpipe) needs a platform without a display server: EGL_PLATFORM.
// - the Vulkan loader wants XDG_RUNTIME_DIR; with an invalid one Dawn's Vulkan backend prints
//   "error: XDG_RUNTIME_DIR is invalid…", and here the process was seen to end silently mid-probe: a private
//   directory is set when it is missing or invalid.
// - Dawn writes warnings about Mesa's adapters ("… artificially reduced …" limits on llvmpipe and lavapipe, Mesa 22
//   lavapipe's "shaderUniform*ArrayDynamicIndexing required") straight to the native stderr: while adapters are
//   created, fd 2 goes to a file, and what is not that noise is written back (filterNativeStderr). This works where
//   stderr is a terminal, a pipe or a file; a socket (a Node parent's stdio 'pipe') cannot be reopened, and there
//   Dawn's lines still show.
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export type DeviceChoice = 'auto' | 'hardware' | 'software';
export const DEVICE_CHOICES: readonly DeviceChoice[] = ['auto', 'hardware', 'software'];

export type BackendName = 'opengles' | 'vulkan' | 'metal' | 'd3d12';
export type BackendChoice = 'auto' | BackendName;
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'opengles', 'vulkan', 'metal', 'd3d12'];

/** the GPU backends of this platform, in the order the automatic choice tries them */
export function platformBackends(): BackendName[] {
  if (process.platform === 'darwin') return ['metal'];
  if (process.platform === 'win32') return ['d3d12', 'vulkan'];
  return ['vulkan'];
}

function usableDir(dir: string | undefined): boolean {
  if (!dir) return false;
  try {
    const s = statSync(dir);
    return s.isDirectory() && (process.getuid === undefined || s.uid === process.getuid());
  } catch {
    return false;
  }
}

let prepared = false;
/** sets the environment variables Dawn's backends need (once per process; values already valid are kept) */
export function prepareDawnEnvironment(): void {
  if (prepared) return;
  prepared = true;
  process.env.EGL_PLATFORM ??= 'surfaceless';
  if (process.platform === 'linux' && !usableDir(process.env.XDG_RUNTIME_DIR)) {
    const dir = join(tmpdir(), `dpm-runtime-${process.getuid?.() ?? 'user'}`);
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      if (usableDir(dir)) process.env.XDG_RUNTIME_DIR = dir;
    } catch {
      // leave it: Dawn's Vulkan probe then complains, the OpenGL ES path does not need it
    }
  }
}

/** Linux without a Vulkan loader: Dawn's Vulkan backend can only print a warning and find nothing */
export function vulkanLoaderPresent(): boolean {
  if (process.platform !== 'linux') return true;
  const dirs = [
    ...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean),
    '/usr/lib/x86_64-linux-gnu',
    '/usr/lib/aarch64-linux-gnu',
    '/usr/lib64',
    '/usr/lib',
    '/usr/local/lib',
    '/lib/x86_64-linux-gnu',
    '/lib64',
  ];
  return dirs.some((d) => existsSync(join(d, 'libvulkan.so.1')));
}

export const SOFTWARE_NAMES = /llvmpipe|lavapipe|swiftshader|software|softpipe/i;

/** the lines Dawn writes for adapters it cannot or need not use: kept from users */
const DAWN_NOISE = /artificially reduced|XDG_RUNTIME_DIR|shaderUniform\w*ArrayDynamicIndexing/;

/**
 * Runs `fn` (Dawn's instance and adapter creation) with the process's native stderr (fd 2) sent to a temporary file,
 * then writes back what is not Dawn's known noise. Node cannot dup2, but POSIX gives a new file the lowest free
 * descriptor: closing fd 2 and opening the file makes it fd 2; reopening /proc/self/fd/N of a saved copy restores
 * it. Node writes stdio pipes, files and terminals synchronously on Linux, so nothing is queued on the old
 * descriptor. Elsewhere, or if any step fails, `fn` runs with stderr as it is.
 */
export async function filterNativeStderr<T>(fn: () => Promise<T>): Promise<T> {
  if (process.platform !== 'linux') return fn();
  let saved: number | undefined;
  let capture: string | undefined;
  try {
    saved = openSync('/proc/self/fd/2', 'a');
    capture = join(mkdtempSync(join(tmpdir(), 'dpm-dawn-')), 'stderr');
    closeSync(2);
    if (openSync(capture, 'w+') !== 2) throw new Error('fd 2 not reused');
  } catch {
    if (saved !== undefined) restore(saved);
    return fn();
  }
  try {
    return await fn();
  } finally {
    restore(saved);
    try {
      const kept = readFileSync(capture, 'utf8')
        .split('\n')
        .filter((l) => l && !DAWN_NOISE.test(l));
      if (kept.length) process.stderr.write(`${kept.join('\n')}\n`);
      rmSync(dirname(capture), { recursive: true, force: true });
    } catch {
      // the capture is gone: nothing to write back
    }
  }
}

/** puts the saved descriptor back as fd 2 */
function restore(saved: number): void {
  try {
    closeSync(2);
  } catch {
    // fd 2 was not open
  }
  openSync(`/proc/self/fd/${saved}`, 'a');
  closeSync(saved);
}
