// layer_shape.wgsl — where one Linear layer (IN → OUT) lies in the packed parameters (and gradient), for the pieces
// that address its weights and biases: W[o, i] at WOFF + o·WSTRIDE + i, b[o] at BOFF + o·BSTRIDE (the heads: OUT = 2,
// WSTRIDE = BSTRIDE = M + 1). Composed first for the decoder layers, their backward and the weight
// gradients (decoder_dense.wgsl, decoder_backward.wgsl, weight_grad.wgsl and the mm_*.wgsl loaders of matmul.wgsl).
override IN: u32 = 8u;
override OUT: u32 = 6u;
override WOFF: u32 = 0u;
override WSTRIDE: u32 = 8u;
override BOFF: u32 = 0u;
override BSTRIDE: u32 = 1u;
