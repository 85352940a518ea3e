// The package's typed API (package.json "main"/"types"). Each engineer adds the lines for their modules.

// forecaster: model files, engines, sequences, training, forecasting
export { paramCount, paramLayout, PAPER_CONFIG, type ModelConfig } from './model/params.js';
export { PAPER_ADAM, type AdamOptions, type ForecasterEngine, type OptimizerState } from './model/engine.js';
export {
  loadModel,
  saveModel,
  decodeModel,
  encodeModel,
  readSafetensors,
  writeSafetensors,
  type ModelFile,
} from './model/safetensors.js';
export { ReferenceEngine } from './model/reference.js';
export {
  createEngine,
  selectEngine,
  parseDevice,
  DEVICE_CHOICES,
  type DeviceChoice,
  type EngineOptions,
} from './engines/select.js';
export { createCpuEngine, type CpuEngineOptions } from './cpu/engine.js';
export {
  coherenceToLogit,
  logitToCoherence,
  splitBands,
  buildSeries,
  MIN_VALID,
  type BandSplit,
  type PixelSeries,
} from './model/series.js';
export {
  trainModel,
  DEFAULT_TRAIN,
  type TrainOptions,
  type TrainResult,
  type TrainData,
  type EpochLog,
} from './model/train.js';
export { forecastSequences, forecastPixels, type ForecastResult, type PixelForecast } from './model/forecast.js';
export { initParams } from './model/init.js';
export { Rng } from './model/rng.js';
// a stack to train on / forecast (host/raster/stack.ts): readCoherenceStack(inputs, { nodata, feedback })
export { readCoherenceStack } from './raster/stack.js';

// landslides (papers/003): datacubes, terrain, scores
export { openDatacube, type Datacube, type CubeVariable } from './raster/zarr.js';
export { terrain, metresPerDegree, type Terrain } from './raster/terrain.js';
export { loadLandslideCube } from './landslide/cube.js';
export { landslideScores, METHODS as LANDSLIDE_METHODS, type LandslideCube } from './landslide/scores.js';
export { welchT, stouffer } from './landslide/stats.js';
export { simulateLandslides, writeLandslideCube } from './sar/simulate/landslide.js';
