// scratch (deleted before handing in)
import { createGpuEngine } from '../host/gpu/forecaster.js';
import { readFixture, fixtureConfig, packParams, f32, relErr, maxAbsErr, columns } from './gpu-helpers.js';
import { paramLayout } from '../host/model/params.js';
import { PAPER_ADAM } from '../host/model/engine.js';

const cfg = process.argv[2] ?? 'small';
const { config, T, B } = fixtureConfig(cfg);
let t0 = Date.now();
const e = await createGpuEngine(config);
console.log(e.description, 'init', Date.now() - t0, 'ms');
const p0 = packParams(config, readFixture(cfg, 'params_init.json'));
await e.setParams(p0);
const x = f32(readFixture(cfg, 'input.json').tensors.x!.data);
const fw = readFixture(cfg, 'f32/forward.json');
t0 = Date.now();
const fc = await e.forecast(x, B, T);
console.log('forecast ms', Date.now() - t0);
console.log('mu_fc', relErr(fc.mu, f32(fw.forecast!.tensors.mu_fc!.data)), 'lv_fc', relErr(fc.logvar, f32(fw.forecast!.tensors.logvar_fc!.data)));
console.log('mu', relErr(columns(fc.mu, B, T + 1, T), f32(fw.tensors.mu!.data)));
t0 = Date.now();
const lg = await e.lossAndGrad(x, B, T);
console.log('lossAndGrad ms', Date.now() - t0);
console.log('loss', lg.loss, fw.scalars!.loss, Math.abs(lg.loss - fw.scalars!.loss!) / fw.scalars!.loss!);
const gr = readFixture(cfg, 'f32/grads.json');
console.log('norm', lg.gradNorm, gr.scalars!.grad_norm);
for (const s of paramLayout(config)) console.log(s.fixtureName, relErr(lg.grad.subarray(s.offset, s.offset + s.size), f32(gr.tensors[s.fixtureName]!.data)).toExponential(2));
const a1 = packParams(config, readFixture(cfg, 'f32/params_adam1.json'));
const a5 = packParams(config, readFixture(cfg, 'f32/params_adam5.json'));
t0 = Date.now();
await e.trainStep(x, B, T, PAPER_ADAM);
console.log('train ms', Date.now() - t0);
console.log('adam1', maxAbsErr(await e.getParams(), a1));
for (let i = 0; i < 4; i++) await e.trainStep(x, B, T, PAPER_ADAM);
console.log('adam5', maxAbsErr(await e.getParams(), a5));
e.destroy();
{
  const e2 = await createGpuEngine(config);
  await e2.setParams(p0);
  const g = (await e2.lossAndGrad(x, B, T)).grad;
  await e2.trainStep(x, B, T, PAPER_ADAM);
  const p = await e2.getParams();
  const a64 = readFixture(cfg, 'f64/params_adam1.json');
  const a1f64 = new Float64Array(p.length);
  for (const s of paramLayout(config)) a1f64.set(a64.tensors[s.fixtureName]!.data, s.offset);
  const gf = readFixture(cfg, 'f32/grads.json');
  const g32 = new Float32Array(p.length);
  for (const s of paramLayout(config)) g32.set(f32(gf.tensors[s.fixtureName]!.data), s.offset);
  let worst = 0, wi = 0;
  for (let i = 0; i < p.length; i++) { const d = Math.abs(p[i]! - a1[i]!); if (d > worst) { worst = d; wi = i; } }
  console.log('worst', wi, worst, 'grad gpu', g[wi], 'grad f32 fixture', g32[wi], 'p', p[wi], 'a1 f32', a1[wi], 'a1 f64', a1f64[wi], 'p0', p0[wi]);
  console.log('vs f64', maxAbsErr(p, a1f64), 'f32 fixture vs f64', maxAbsErr(a1, a1f64));
  e2.destroy();
}
