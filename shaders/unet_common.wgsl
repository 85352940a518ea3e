// unet_common.wgsl — composed after common.wgsl in front of every U-Net kernel (host/gpu/ops/unet-kernel.ts).
// Tensors are NCHW float32 (docs/unet.md). A tensor may be a channel slice of a wider buffer: the skip
// concatenation [skip, up] is never copied; the encoder's last ReLU writes channels [0, w) and the transposed
// convolution channels [w, 2w) of one buffer, and their readers address it as (channels total CT, offset CO).
//
// Dims: the one per-call value of every U-Net kernel, written before each command buffer: B = the batch size (the
// pipelines are specialised for the chip size and channel counts, not for B, so the last short batch of an epoch
// does not compile new pipelines).
struct Dims { B: u32, p0: u32, p1: u32, p2: u32 }

// flat index of element (b, c, p) of a [B, CT, HW] buffer's slice starting at channel CO
fn nchw(b: u32, c: u32, p: u32, CT: u32, CO: u32, HW: u32) -> u32 { return (b * CT + CO + c) * HW + p; }
