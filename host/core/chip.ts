// The chip of a coherence estimate and the stride between chips, in SLC pixels: range columns × azimuth rows.
// Text ("15x5") on the command line and in raster metadata (DPM_CHIP, DPM_STRIDE); parsed once, where it enters,
// into ChipSize / ChipLayout, which is what travels inside.
import { DpmError } from './errors.js';

export interface ChipSize {
  /** range columns */
  readonly range: number;
  /** azimuth rows */
  readonly azimuth: number;
}

export interface ChipLayout {
  readonly chip: ChipSize;
  readonly stride: ChipSize;
}

/** "15x5" (also 15×5, 15*5, 15,5, or "15" for 15x15) → ChipSize; `what` names the option in the error. */
export function parseChipSize(text: string, what: string): ChipSize {
  const m = /^\s*(\d+)\s*[xX×*,]\s*(\d+)\s*$/.exec(text) ?? /^\s*(\d+)\s*$/.exec(text);
  if (!m) throw new DpmError(`--${what} must look like 15x5 (range columns x azimuth rows), got '${text}'`);
  const range = Number(m[1]);
  const azimuth = Number(m[2] ?? m[1]);
  if (range < 1 || azimuth < 1 || range > 10000 || azimuth > 10000) {
    throw new DpmError(`--${what} sizes must be between 1 and 10000, got '${text}'`);
  }
  return { range, azimuth };
}

export function formatChipSize(c: ChipSize): string {
  return `${c.range}x${c.azimuth}`;
}

/** --chip and --stride (the stride defaults to the chip: chips side by side). */
export function parseChipLayout(chip: string, stride: string | undefined): ChipLayout {
  const c = parseChipSize(chip, 'chip');
  return { chip: c, stride: stride === undefined ? c : parseChipSize(stride, 'stride') };
}

/** Dataset metadata items that say how a coherence grid was made (`dpm coherence` writes them): carried to every
 *  raster computed on that grid, so that `dpm evaluate` knows each pixel's chip footprint without being told. */
export const CHIP_LAYOUT_KEYS = ['DPM_CHIP', 'DPM_STRIDE'] as const;

export function chipLayoutToMetadata(layout: ChipLayout): Record<(typeof CHIP_LAYOUT_KEYS)[number], string> {
  return { DPM_CHIP: formatChipSize(layout.chip), DPM_STRIDE: formatChipSize(layout.stride) };
}

/** The layout recorded in raster metadata, or undefined when it has none. */
export function chipLayoutFromMetadata(metadata: Record<string, string> | undefined): ChipLayout | undefined {
  const chip = metadata?.DPM_CHIP;
  return chip ? parseChipLayout(chip, metadata.DPM_STRIDE) : undefined;
}
