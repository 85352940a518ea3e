// The GPU runtime (host/gpu/device.ts, backends.ts, program.ts, info.ts): adapter and backend choice, errors that name
// the kernel, the no-adapter message, `dpm gpu-info`, Dawn's noise kept from stderr, and that Node exits by itself
// after the engine is destroyed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { openGpu, GpuError } from '../host/gpu/device.js';
import { Program } from '../host/gpu/program.js';
import { gruForwardSpec } from '../host/gpu/kernels/gru-forward.js';
import { DpmError } from '../host/core/errors.js';
import { backendSkip } from './gpu-helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, '..', 'host', 'cli.js');

function runNode(args: string[], env: Record<string, string> = {}) {
  // generous timeout: only there to turn a hang (Node not exiting) into a failure
  return spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
}

test('the software path opens and grants the limits the kernels ask for', async () => {
  const gpu = await openGpu({ device: 'software' });
  try {
    assert.equal(gpu.adapter.software, true);
    assert.match(gpu.description, /software/);
    // the engine sizes its chunks from these
    assert.ok(gpu.limits.maxStorageBufferBindingSize! >= 128 * 2 ** 20);
    assert.ok(gpu.limits.maxStorageBuffersPerShaderStage! >= 7);
  } finally {
    gpu.destroy();
  }
});

test('an unknown device choice is a DpmError', async () => {
  await assert.rejects(
    openGpu({ device: 'quantum' as 'auto' }),
    (e: Error) => e instanceof DpmError && /auto, hardware, software/.test(e.message),
  );
});

test('a validation error in a kernel is thrown and names it', async () => {
  const gpu = await openGpu({ device: 'software' });
  try {
    // the shader declares binding 2 (h) read_write; a layout that says read-only must fail pipeline creation
    const bad = { ...gruForwardSpec, bindings: ['ro', 'ro', 'ro', 'rw', 'step'] as const };
    await assert.rejects(
      Program.get(gpu, bad, { H: 8, WOFF_HH: 24, BOFF_HH: 240 }, 'gru_forward(bad layout)'),
      (e: Error) =>
        e instanceof GpuError && /gru_forward\(bad layout\)/.test(e.message) && /validation/.test(e.message),
    );
    // a correct program, bound to a buffer without STORAGE usage: the bind group is invalid
    const good = await Program.get(gpu, gruForwardSpec, { H: 8, WOFF_HH: 24, BOFF_HH: 240 });
    const storage = gpu.device.createBuffer({ size: 4096, usage: GPUBufferUsage.STORAGE });
    const notStorage = gpu.device.createBuffer({ size: 4096, usage: GPUBufferUsage.COPY_DST });
    const step = gpu.device.createBuffer({ size: 256, usage: GPUBufferUsage.UNIFORM });
    await assert.rejects(
      gpu.checked(`bind ${good.label}`, () =>
        good.bind({ params: storage, gi: storage, h: notStorage, gates: storage, step }),
      ),
      (e: Error) => e instanceof GpuError && e.message.includes('gru_forward(H=8') && /validation/.test(e.message),
    );
    // a submit that uses a destroyed buffer fails at submit time and names the work
    const group = good.bind({
      params: storage,
      gi: storage,
      h: gpu.device.createBuffer({ size: 4096, usage: GPUBufferUsage.STORAGE }),
      gates: storage,
      step,
    });
    storage.destroy();
    await assert.rejects(
      gpu.checked('forward step 0', () => {
        const enc = gpu.device.createCommandEncoder();
        const pass = enc.beginComputePass();
        good.dispatch(pass, group, 8, 0);
        pass.end();
        gpu.device.queue.submit([enc.finish()]);
      }),
      (e: Error) => e instanceof GpuError && /forward step 0/.test(e.message),
    );
  } finally {
    gpu.destroy();
  }
});

test('no adapter at all: one message saying what to install, exit code 2', () => {
  // glvnd finds no EGL vendor library → Dawn's OpenGL ES path has no adapter (what a machine without Mesa sees)
  const r = runNode([cli, 'gpu-info'], {
    DPM_DEVICE: 'software',
    __EGL_VENDOR_LIBRARY_FILENAMES: '/nonexistent/egl.json',
  });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /no WebGPU adapter found.*libegl1 libgles2 libegl-mesa0.*DPM_DEVICE/);
});

test('dpm gpu-info prints the adapter, backend and limits (text and --json) and Node exits by itself', () => {
  const text = runNode([cli, 'gpu-info', '--device', 'software']);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /backend\s+opengles/);
  assert.match(text.stdout, /maxStorageBufferBindingSize\s+\d+/);
  const json = runNode([cli, 'gpu-info', '--device', 'software', '--json']);
  assert.equal(json.status, 0, json.stderr);
  const out = JSON.parse(json.stdout.trim().split('\n').pop()!).outputs;
  assert.equal(out.software, true);
  assert.equal(out.backend, 'opengles');
  assert.ok(out.limits.maxComputeInvocationsPerWorkgroup >= 256);
});

test('a script that uses the engine and destroys it exits by itself', () => {
  const engineUrl = new URL('../host/gpu/forecaster.js', import.meta.url).href;
  const script = `
    const { createGpuEngine } = await import(${JSON.stringify(engineUrl)});
    const e = await createGpuEngine({ hidden: 8, mlp: 6, features: 1 }, { device: 'software' });
    const r = await e.forecast(new Float32Array([0.5, 1, 1.5]), 1, 3);
    console.log(r.mu.length);
    e.destroy();`;
  const r = runNode(['--input-type=module', '-e', script]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), '4');
});

const vulkanSkip = await backendSkip('vulkan');

test('the backend is chosen with --backend or env DPM_BACKEND and reported; a bad one is one clear error', {
  skip: vulkanSkip,
}, () => {
  for (const [args, env] of [
    [['--backend', 'vulkan'], {}],
    [[], { DPM_BACKEND: 'vulkan' }],
  ] as const) {
    const r = runNode([cli, 'gpu-info', '--json', ...args], env);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout.trim().split('\n').pop()!).outputs.backend, 'vulkan');
  }
  const bad = runNode([cli, 'gpu-info'], { DPM_BACKEND: 'glide' });
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /DPM_BACKEND: 'glide' is not one of auto, opengles, vulkan/);
});

test("Dawn's adapter noise does not reach stderr, and an invalid XDG_RUNTIME_DIR is replaced", () => {
  // Mesa's adapters make Dawn print '… artificially reduced …' limits natively; an invalid XDG_RUNTIME_DIR made the
  // Vulkan probe end the process silently before the fix
  // (stderr a file, as from a shell: the filter reopens fd 2, which a socket — Node's own stdio 'pipe' — refuses)
  const runs: [string[], Record<string, string>][] = [[[], {}]];
  if (!vulkanSkip) runs.push([['--backend', 'vulkan'], { XDG_RUNTIME_DIR: '/nonexistent' }]);
  const dir = mkdtempSync(join(tmpdir(), 'dpm-stderr-'));
  try {
    for (const [i, [args, env]] of runs.entries()) {
      const errFile = join(dir, `stderr-${i}`);
      const fd = openSync(errFile, 'w');
      const r = spawnSync(process.execPath, [cli, 'gpu-info', '--json', ...args], {
        encoding: 'utf8',
        env: { ...process.env, ...env },
        timeout: 120_000,
        stdio: ['ignore', 'pipe', fd],
      });
      closeSync(fd);
      const stderr = readFileSync(errFile, 'utf8');
      assert.equal(r.status, 0, stderr);
      assert.match(r.stdout, /"type":"result"/);
      assert.doesNotMatch(stderr, /artificially reduced|XDG_RUNTIME_DIR|shaderUniform/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an unknown backend is a DpmError', async () => {
  await assert.rejects(
    openGpu({ backend: 'glide' as 'auto' }),
    (e: Error) => e instanceof DpmError && /opengles, vulkan/.test(e.message),
  );
});
