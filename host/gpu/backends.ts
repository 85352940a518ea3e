// What Dawn needs from the process before it starts, and which of its backends can succeed here, so that a machine
// without a GPU driver sees neither a failed probe's noise nor a hang:
// - Mesa's EGL (the OpenGL ES backend on llvmpipe) needs a platform without a display server: EGL_PLATFORM.
// - the Vulkan loader wants XDG_RUNTIME_DIR; with an invalid one Dawn's Vulkan backend prints
//   "error: XDG_RUNTIME_DIR is invalid…", and here the process was seen to end silently mid-probe: a private
//   directory is set when it is missing or invalid.
// - Dawn writes its warnings about a Vulkan adapter (Mesa 22 lavapipe's "shaderUniform*ArrayDynamicIndexing
//   required", Mesa 25 lavapipe's "… artificially reduced …" limits) straight to the native stderr, which Node cannot
//   redirect. The automatic choice therefore asks a child process whether Vulkan offers a hardware adapter, with its
//   stderr captured, and skips Vulkan in this process when it does not. Naming the Vulkan backend explicitly on a
//   software Vulkan driver (DPM_BACKEND=vulkan on lavapipe, the CI matrix) still shows Dawn's two "artificially
//   reduced" lines.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
    '/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/lib',
    '/lib/x86_64-linux-gnu', '/lib64',
  ];
  return dirs.some((d) => existsSync(join(d, 'libvulkan.so.1')));
}

export const SOFTWARE_NAMES = /llvmpipe|lavapipe|swiftshader|software|softpipe/i;

// the child's probe: the first adapter Vulkan offers, as JSON on stdout (its stderr is discarded)
const PROBE = `
const { create } = await import(process.argv[1]);
const gpu = create(['backend=vulkan']);
const a = await gpu.requestAdapter({ powerPreference: 'high-performance' }).catch(() => null);
const i = a ? a.info : undefined;
process.stdout.write(JSON.stringify(i ? { text: [i.vendor, i.architecture, i.device, i.description].join(' '),
  fallback: i.isFallbackAdapter === true } : null));
process.exit(0);`;

let vulkanHardware: boolean | undefined;
/** whether Dawn's Vulkan backend offers a hardware adapter, asked once per process in a child whose stderr is kept
 *  from the user (a minute at most: a hung driver counts as none) */
export function vulkanHasHardware(): boolean {
  if (vulkanHardware !== undefined) return vulkanHardware;
  vulkanHardware = false;
  if (!vulkanLoaderPresent()) return false;
  const webgpu = createRequire(import.meta.url).resolve('webgpu');
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', PROBE, webgpu], {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000, env: process.env,
  });
  try {
    const found = JSON.parse(r.stdout || 'null') as { text: string; fallback: boolean } | null;
    vulkanHardware = found !== null && !found.fallback && !SOFTWARE_NAMES.test(found.text);
  } catch {
    vulkanHardware = false;
  }
  return vulkanHardware;
}
