// A compute program = WGSL pieces (shaders/, joined by compose.ts after common.wgsl) + override constants → one
// labelled pipeline with an explicit bind group layout. Pipelines are cached per device by (pieces, overrides). The
// per-kernel modules in host/gpu/kernels/ and host/gpu/ops/ describe their bindings and how many invocations a
// dispatch needs.
import { composeWgsl } from './compose.js';
import { GpuError, type Gpu } from './device.js';

/** ro = read-only storage, rw = read_write storage, uniform = plain uniform; with a dynamic offset: step = a Step
 *  record (32 bytes), win = a 16-byte record, window = a 64 KiB uniform window */
export type BindingKind = 'ro' | 'rw' | 'step' | 'uniform' | 'win' | 'window';

const DYNAMIC_SIZE: Partial<Record<BindingKind, number>> = { step: 32, win: 16, window: 65536 };

export interface ProgramSpec {
  /** file name in shaders/, or the pieces in order (loaders, then the body); common.wgsl is always put first */
  shader: string | readonly string[];
  /** binding i of group 0, in order */
  bindings: readonly BindingKind[];
  /** names of the bindings (for error messages and bind()) */
  names: readonly string[];
}

/** bytes between the per-dispatch Step records in the step uniform buffer (minUniformBufferOffsetAlignment ≤ 256) */
export const STEP_STRIDE = 256;

/** the pieces of a spec, in order */
const piecesOf = (spec: ProgramSpec): readonly string[] =>
  typeof spec.shader === 'string' ? [spec.shader] : spec.shader;

/** Just the part of a compute pass a dispatch needs: lets the engine count dispatches (ops/count.ts). */
export interface PassLike {
  setPipeline(pipeline: GPUComputePipeline): void;
  setBindGroup(index: number, group: GPUBindGroup, offsets?: number[]): void;
  dispatchWorkgroups(x: number, y?: number, z?: number): void;
}

export class Program {
  readonly label: string;
  readonly workgroupSize: number;
  private constructor(
    readonly gpu: Gpu,
    readonly spec: ProgramSpec,
    readonly pipeline: GPUComputePipeline,
    readonly layout: GPUBindGroupLayout,
    label: string,
    workgroupSize: number,
  ) {
    this.label = label;
    this.workgroupSize = workgroupSize;
  }

  private static cache = new WeakMap<GPUDevice, Map<string, Promise<Program>>>();

  /** The pipeline for `spec` with these override constants (WG defaults to 64), created once per device. */
  static get(gpu: Gpu, spec: ProgramSpec, overrides: Record<string, number>, label?: string): Promise<Program> {
    const constants = { WG: 64, ...overrides };
    const key = `${piecesOf(spec).join('+')}|${JSON.stringify(Object.entries(constants).sort())}`;
    let perDevice = Program.cache.get(gpu.device);
    if (!perDevice) Program.cache.set(gpu.device, (perDevice = new Map()));
    let p = perDevice.get(key);
    if (!p) {
      const name =
        label ??
        `${piecesOf(spec)
          .at(-1)!
          .replace(/\.wgsl$/, '')}(${Object.entries(overrides)
          .map(([k, v]) => `${k}=${v}`)
          .join(',')})`;
      p = Program.create(gpu, spec, constants, name);
      perDevice.set(key, p);
      p.catch(() => perDevice!.delete(key));
    }
    return p;
  }

  private static async create(
    gpu: Gpu,
    spec: ProgramSpec,
    constants: Record<string, number>,
    label: string,
  ): Promise<Program> {
    const device = gpu.device;
    return gpu.checked(`pipeline ${label}`, () => {
      const module = device.createShaderModule({ label, code: composeWgsl(piecesOf(spec)) });
      const layout = device.createBindGroupLayout({
        label,
        entries: spec.bindings.map((kind, binding) => ({
          binding,
          visibility: GPUShaderStage.COMPUTE,
          buffer:
            kind === 'ro'
              ? { type: 'read-only-storage' as const }
              : kind === 'rw'
                ? { type: 'storage' as const }
                : { type: 'uniform' as const, hasDynamicOffset: DYNAMIC_SIZE[kind] !== undefined },
        })),
      });
      const pipeline = device.createComputePipeline({
        label,
        layout: device.createPipelineLayout({ label, bindGroupLayouts: [layout] }),
        compute: { module, entryPoint: 'main', constants },
      });
      return new Program(gpu, spec, pipeline, layout, label, constants.WG!);
    });
  }

  /** A bind group from named buffers (every binding of the spec must be given). */
  bind(buffers: Readonly<Record<string, GPUBuffer | undefined>>): GPUBindGroup {
    const entries = this.spec.names.map((name, binding) => {
      const buffer = buffers[name];
      if (!buffer) throw new GpuError(`${this.label}: binding ${binding} '${name}' has no buffer`);
      const kind = this.spec.bindings[binding];
      const size = DYNAMIC_SIZE[kind!];
      return { binding, resource: size !== undefined ? { buffer, offset: 0, size } : { buffer } };
    });
    return this.gpu.device.createBindGroup({ label: this.label, layout: this.layout, entries });
  }

  /** Records a dispatch of an explicit grid of x × y workgroups (kernels that read their block from workgroup_id). */
  dispatchGrid(pass: PassLike, group: GPUBindGroup, x: number, y: number, stepSlot?: number): void {
    if (x <= 0 || y <= 0) return;
    const maxDim = this.gpu.limits.maxComputeWorkgroupsPerDimension ?? 65535;
    if (x > maxDim || y > maxDim)
      throw new GpuError(`${this.label}: grid ${x} × ${y} exceeds the dispatch limit ${maxDim}`);
    pass.setPipeline(this.pipeline);
    if (stepSlot !== undefined) pass.setBindGroup(0, group, [stepSlot * STEP_STRIDE]);
    else pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(x, y);
  }

  /** Records a dispatch of at least `invocations` invocations (2-D grid when one dimension is not enough); the
   *  step slot gives the Step record's dynamic offset, or `offsets` all dynamic offsets in binding order (bytes). */
  dispatch(pass: PassLike, group: GPUBindGroup, invocations: number, stepSlot?: number | number[]): void {
    if (invocations <= 0) return;
    const groups = Math.ceil(invocations / this.workgroupSize);
    const maxDim = this.gpu.limits.maxComputeWorkgroupsPerDimension ?? 65535;
    const x = Math.min(groups, maxDim);
    const y = Math.ceil(groups / x);
    if (y > maxDim) throw new GpuError(`${this.label}: ${invocations} invocations exceed the dispatch limits`);
    pass.setPipeline(this.pipeline);
    if (Array.isArray(stepSlot)) pass.setBindGroup(0, group, stepSlot);
    else if (stepSlot !== undefined) pass.setBindGroup(0, group, [stepSlot * STEP_STRIDE]);
    else pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(x, y);
  }
}
