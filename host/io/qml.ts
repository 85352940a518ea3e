// QGIS layer styles (.qml) written beside GeoTIFFs, so a raster dragged into QGIS (or loaded by the plugin) looks
// like its figure: QGIS applies <name>.qml to <name>.tif by itself. Three kinds: a colour ramp with a transparent
// floor (the damage proxy map, as dpm.png), grey (coherence), diverging around 0 (coherence change).
import { writeFileSync } from 'node:fs';
import type { OutputSet } from './outputs.js';

/** One stop of a colour ramp: value, RGB, opacity 0–255. */
export interface RampStop {
  value: number;
  rgb: readonly [number, number, number];
  alpha?: number;
}

const hex = (rgb: readonly [number, number, number]) => `#${rgb.map((c) => c.toString(16).padStart(2, '0')).join('')}`;
const num = (v: number) => String(Number(v.toPrecision(10)));

function document(renderer: string): string {
  return [
    "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>",
    '<qgis version="3.22.0" styleCategories="Symbology">',
    '  <pipe>',
    renderer,
    '    <brightnesscontrast brightness="0" contrast="0" gamma="1"/>',
    '    <huesaturation saturation="0" grayscaleMode="0" colorizeOn="0"/>',
    '    <rasterresampler maxOversampling="2"/>',
    '  </pipe>',
    '  <blendMode>0</blendMode>',
    '</qgis>',
    '',
  ].join('\n');
}

/**
 * Band 1 coloured by linear interpolation between the stops; values below the first stop take its colour, above
 * the last the last one's (QGIS's "clip" off), NaN/nodata transparent.
 */
export function rampQml(stops: RampStop[]): string {
  const first = stops[0],
    last = stops.at(-1);
  if (!first || !last) throw new Error('internal: a colour ramp needs stops');
  const items = stops.map(
    (s) =>
      `          <item value="${num(s.value)}" color="${hex(s.rgb)}" alpha="${s.alpha ?? 255}" label="${num(s.value)}"/>`,
  );
  return document(
    [
      `    <rasterrenderer type="singlebandpseudocolor" band="1" opacity="1" alphaBand="-1" nodataColor=""` +
        ` classificationMin="${num(first.value)}" classificationMax="${num(last.value)}">`,
      '      <rasterTransparency/>',
      '      <rastershader>',
      `        <colorrampshader colorRampType="INTERPOLATED" classificationMode="1" clip="0"` +
        ` minimumValue="${num(first.value)}" maximumValue="${num(last.value)}" labelPrecision="2">`,
      ...items,
      '        </colorrampshader>',
      '      </rastershader>',
      '    </rasterrenderer>',
    ].join('\n'),
  );
}

/** Band 1 in grey from `min` (black) to `max` (white). */
export function greyQml(min: number, max: number): string {
  return document(
    [
      '    <rasterrenderer type="singlebandgray" grayBand="1" gradient="BlackToWhite" opacity="1" alphaBand="-1">',
      '      <rasterTransparency/>',
      '      <contrastEnhancement>',
      `        <minValue>${num(min)}</minValue>`,
      `        <maxValue>${num(max)}</maxValue>`,
      '        <algorithm>StretchToMinimumMaximum</algorithm>',
      '      </contrastEnhancement>',
      '    </rasterrenderer>',
    ].join('\n'),
  );
}

/** Blue (below 0) – white (0) – red (above 0) over ±`extent` (ColorBrewer RdBu): positive = coherence loss. */
export function divergingQml(extent: number): string {
  const rdbu: [number, number, number][] = [
    [33, 102, 172],
    [103, 169, 207],
    [247, 247, 247],
    [239, 138, 98],
    [178, 24, 43],
  ];
  return rampQml(rdbu.map((rgb, k) => ({ value: -extent + (k * extent) / 2, rgb })));
}

/** `<name>.qml` beside `<name>.tif`. */
export function qmlPath(tif: string): string {
  return `${tif.replace(/\.tiff?$/i, '')}.qml`;
}

/** Writes the style beside `tif` as part of the same output set (renamed in with it, removed on failure). */
export function writeStyle(outs: OutputSet, tif: string, qml: string): void {
  writeFileSync(outs.path(qmlPath(tif)), qml);
}
