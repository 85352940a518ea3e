// gru_dgh_plain.wgsl — piece of gru_backward_gates.wgsl: dgh is written in its own layout only.
// bindings (group 0):
//   6 step    uniform     (dynamic offset) k, B, T, flag
@group(0) @binding(6) var<uniform> st: Step;

fn keep_hidden(k: u32, b: u32, j: u32, gh: GruGates) {}
