// Host side of the wasm coherence kernel (assembly/index.ts): loads build/release.wasm once, and gives each job its
// own instance whose linear memory is laid out by a bump allocator (the kernel itself never allocates). The tests
// also run build/debug.wasm (unoptimised, assertions kept) through the same interface.
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { wasmDir } from '../paths.js';
import { DpmError } from '../core/errors.js';

export interface ChipSpec {
  /** chip size: range columns × azimuth rows */
  cr: number;
  ca: number;
  /** stride: range columns × azimuth rows */
  sr: number;
  sa: number;
}

interface KernelExports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  coherenceBlock(
    s1: number,
    s2: number,
    width: number,
    cr: number,
    ca: number,
    sr: number,
    sa: number,
    outRows: number,
    out: number,
    col: number,
  ): void;
  KERNEL_ABI_VERSION: WebAssembly.Global;
}

const ABI = 2;

/** release: optimised, no assertions (what the tools run); debug: unoptimised with assertions (tests). */
export type KernelBuild = 'release' | 'debug';
export const KERNEL_BUILDS: readonly KernelBuild[] = ['release', 'debug'];
const compiled = new Map<KernelBuild, WebAssembly.Module>();

// Compiled and instantiated synchronously, once: the module is small, and Node 20's asynchronous wasm compilation
// holds no event-loop handle, so a process whose loop empties while it runs can deadlock in NodePlatform::DrainTasks
// (nodejs/node#54918, seen here as a test run hanging at 0 % CPU).
function compile(build: KernelBuild): WebAssembly.Module {
  let module = compiled.get(build);
  if (!module) {
    const file = join(wasmDir, `${build}.wasm`);
    if (!existsSync(file)) throw new DpmError(`coherence kernel ${file} is missing: run 'npm run asbuild'`);
    module = new WebAssembly.Module(readFileSync(file));
    compiled.set(build, module);
  }
  return module;
}

/** Output grid size for an input of width × height samples: whole chips only. */
export function outputSize(width: number, height: number, c: ChipSpec): { outW: number; outH: number } {
  return {
    outW: width >= c.cr ? Math.floor((width - c.cr) / c.sr) + 1 : 0,
    outH: height >= c.ca ? Math.floor((height - c.ca) / c.sa) + 1 : 0,
  };
}

/** One wasm instance with a bump allocator over its linear memory. */
export class CoherenceKernel {
  private top: number;
  private constructor(private readonly ex: KernelExports) {
    this.top = align16(ex.heapBase());
  }

  static async create(build: KernelBuild = 'release'): Promise<CoherenceKernel> {
    const inst = new WebAssembly.Instance(compile(build), {});
    const ex = inst.exports as unknown as KernelExports;
    if (ex.KERNEL_ABI_VERSION.value !== ABI) {
      throw new DpmError(
        `coherence kernel ${join(wasmDir, `${build}.wasm`)} is out of date (ABI ${ex.KERNEL_ABI_VERSION.value}, need ${ABI}): run 'npm run asbuild'`,
      );
    }
    return new CoherenceKernel(ex);
  }

  /** Reserves `bytes` (16-byte aligned) and returns its offset; grows memory as needed. */
  alloc(bytes: number): number {
    const ptr = this.top;
    const end = align16(ptr + bytes);
    const have = this.ex.memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.ceil((end - have) / 65536);
      try {
        this.ex.memory.grow(pages);
      } catch {
        throw new DpmError(
          `coherence: cannot reserve ${(end / 2 ** 20).toFixed(0)} MiB of wasm memory; use a smaller --block-mb or --window`,
        );
      }
    }
    this.top = end;
    return ptr;
  }

  /** Bytes of linear memory in use (for the memory bound). */
  get bytes(): number {
    return this.ex.memory.buffer.byteLength;
  }

  /** Views are re-created on every call because growing memory detaches the old ArrayBuffer. */
  f32(ptr: number, length: number): Float32Array {
    return new Float32Array(this.ex.memory.buffer, ptr, length);
  }
  u8(ptr: number, length: number): Uint8Array {
    return new Uint8Array(this.ex.memory.buffer, ptr, length);
  }

  /** Runs the kernel on blocks already in memory (see coherenceBlock in assembly/index.ts). */
  block(s1: number, s2: number, width: number, c: ChipSpec, outRows: number, out: number, col: number): void {
    this.ex.coherenceBlock(s1, s2, width, c.cr, c.ca, c.sr, c.sa, outRows, out, col);
  }
}

function align16(n: number): number {
  return (n + 15) & ~15;
}

/**
 * Convenience for whole in-memory images (tests, small windows): s1, s2 are height × width complex64 interleaved
 * (re, im). Returns outH × outW coherence, whole chips only.
 */
export async function coherenceWasm(
  s1: Float32Array,
  s2: Float32Array,
  width: number,
  height: number,
  c: ChipSpec,
  build: KernelBuild = 'release',
): Promise<{ data: Float32Array; outW: number; outH: number }> {
  const { outW, outH } = outputSize(width, height, c);
  if (outW === 0 || outH === 0) return { data: new Float32Array(0), outW, outH };
  const k = await CoherenceKernel.create(build);
  const n = width * height * 2;
  const p1 = k.alloc(n * 4);
  const p2 = k.alloc(n * 4);
  const po = k.alloc(outW * outH * 4);
  const pc = k.alloc(width * 48);
  k.f32(p1, n).set(s1.subarray(0, n));
  k.f32(p2, n).set(s2.subarray(0, n));
  k.block(p1, p2, width, c, outH, po, pc);
  return { data: k.f32(po, outW * outH).slice(), outW, outH };
}
