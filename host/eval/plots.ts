// Charts as SVG strings: a Vega-Lite spec is compiled to Vega and rendered headless (renderer 'none', no canvas),
// so plots work on any Node without native modules. Text widths are estimated by Vega when no canvas exists.
// PNGs come from host/io/svg-png.ts (resvg); the charts name its font so text renders the same in both.
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { SVG_FONT_FAMILY, svgToPng } from '../io/svg-png.js';

/** Renders a Vega-Lite spec (inline data values) to an SVG document string. A spec without `config.font` gets
 *  the font svgToPng loads. */
export async function renderVegaLite(spec: TopLevelSpec | Record<string, unknown>): Promise<string> {
  const s = spec as Record<string, unknown>;
  const config = typeof s.config === 'object' && s.config !== null ? s.config : {};
  const withFont = { ...s, config: { font: SVG_FONT_FAMILY, ...config } };
  const vgSpec = compile(withFont as TopLevelSpec).spec;
  const view = new vega.View(vega.parse(vgSpec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    // Vega leaves the XML prolog out; keep the document self-contained for browsers and QGIS alike.
    return svg.startsWith('<?xml') ? svg : `<?xml version="1.0" encoding="UTF-8"?>\n${svg}`;
  } finally {
    view.finalize();
  }
}

/** The same chart as SVG and PNG. */
export async function renderVegaLiteBoth(
  spec: TopLevelSpec | Record<string, unknown>,
): Promise<{ svg: string; png: Uint8Array }> {
  const svg = await renderVegaLite(spec);
  return { svg, png: svgToPng(svg) };
}
