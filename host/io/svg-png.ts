// SVG → PNG with resvg (a Rust renderer shipped as a prebuilt binary inside its npm packages). Text needs a font:
// we load DejaVu Sans (Debian fonts-dejavu-core, installed by .ci/run) by file, which is fast and gives the same
// pixels everywhere; without it we fall back to the system's fonts.
import { existsSync } from 'node:fs';
import { Resvg } from '@resvg/resvg-js';

const DEJAVU_DIR = '/usr/share/fonts/truetype/dejavu';
const DEJAVU = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf'].map((f) => `${DEJAVU_DIR}/${f}`);

/** Font family to name in SVGs rendered by svgToPng. */
export const SVG_FONT_FAMILY = 'DejaVu Sans';

/** Renders an SVG document to PNG bytes (at the SVG's own size). */
export function svgToPng(svg: string): Uint8Array {
  const files = DEJAVU.filter((f) => existsSync(f));
  const resvg = new Resvg(svg, {
    font: files.length
      ? { loadSystemFonts: false, fontFiles: files, defaultFontFamily: SVG_FONT_FAMILY }
      : { loadSystemFonts: true },
    shapeRendering: 2, // geometricPrecision: anti-aliased lines
    textRendering: 1, // optimizeLegibility
  });
  return new Uint8Array(resvg.render().asPng());
}
