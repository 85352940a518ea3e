// AssemblyScript kernels (wasm). No I/O: the host passes typed-array views into linear memory.
export const KERNEL_ABI_VERSION: i32 = 1;
