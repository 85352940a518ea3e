// conv2d_input.wgsl — the padded input read of the loaders that walk im2col patches of `inp` (conv2d_forward.wgsl,
// conv2d_weight_grad.wgsl; each declares `inp`): composed after conv2d_shape.wgsl.
// in[b, c, y + dy, x + dx] of the input slice, 0 outside the image (the padding)
fn input_at(p: Pix, c: u32, dy: i32, dx: i32) -> f32 {
  let yy = i32(p.y) + dy;
  let xx = i32(p.x) + dx;
  if (yy < 0 || xx < 0 || yy >= i32(H) || xx >= i32(W)) { return 0.0; }
  return inp[nchw(p.b, c, u32(yy) * W + u32(xx), IN_CT, IN_CO, H * W)];
}
