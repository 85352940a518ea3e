// gru_w_window.wgsl — piece of gru_forward.wgsl for the software plan (with gru_h_storage.wgsl or
// gru_h_uniform.wgsl): W_hr, W_hz, W_hn read from UNIFORM windows of UW units × H (on llvmpipe a uniform load is
// several times cheaper than a storage load, and the weights are the same for every invocation); one dispatch per
// window, `win` says which units it covers (H a multiple of 4). Declares the bindings 0 .. 6 (see the loaders);
// the loader declares the others, win among them.
@group(0) @binding(0) var<storage, read> params: array<f32>;
@group(0) @binding(1) var<storage, read> gi: array<f32>;
@group(0) @binding(2) var<storage, read_write> h: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> gates: array<f32>;
@group(0) @binding(4) var<uniform> wr: array<vec4<f32>, 4096>;
@group(0) @binding(5) var<uniform> wz: array<vec4<f32>, 4096>;
@group(0) @binding(6) var<uniform> wn: array<vec4<f32>, 4096>;

struct Win { j0: u32, nunits: u32, p0: u32, p1: u32 }
override UW: u32 = 8u;
const KSTEP: u32 = 4u;

fn unit_first() -> u32 { return win.j0; }
fn unit_count() -> u32 { return win.nunits; }
fn load_wr(l: u32, c: u32) -> vec4<f32> { return wr[(l * H + c) / 4u]; }
fn load_wz(l: u32, c: u32) -> vec4<f32> { return wz[(l * H + c) / 4u]; }
fn load_wn(l: u32, c: u32) -> vec4<f32> { return wn[(l * H + c) / 4u]; }
